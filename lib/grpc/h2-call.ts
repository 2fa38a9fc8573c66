/**
 * One call on the HTTP/2 gRPC server (h2-server.ts), as its handler sees it: the request's
 * metadata by name, the deadline, and whether the call was cancelled (the client reset the
 * stream, the connection went away, or the deadline passed). Also how a handler's failure
 * becomes a status.
 */
import type { H2Headers } from '../h2/stream.ts';
import { status } from '@grpc/grpc-js';
import { errorMessage } from '../errors.ts';

export class H2Call {
  /** `/package.Service/Method`. */
  readonly path: string;
  /** When the client stops waiting (ms since the epoch, as Date.now()); Infinity without one. */
  readonly deadline: number;
  private readonly headers: H2Headers;
  private cancelListeners: (() => void)[] | undefined;
  private isCancelled = false;
  /** Set once the status is sent (or the stream is gone): later answers are dropped. */
  finished = false;

  constructor(path: string, headers: H2Headers, deadline: number) {
    this.path = path;
    this.headers = headers;
    this.deadline = deadline;
  }

  private getter: ((name: string) => string | undefined) | undefined;

  /**
   * A metadata value by lower-case name (repeated values joined with ","); a HeaderGetter, made
   * the first time it is asked for (most calls never read their metadata).
   */
  get header(): (name: string) => string | undefined {
    return (this.getter ??= (name) => {
      const v = this.headers[name];
      return Array.isArray(v) ? v.join(',') : v;
    });
  }

  get cancelled(): boolean {
    return this.isCancelled;
  }

  /** Runs `listener` when the call is cancelled (at once if it already is). */
  onCancel(listener: () => void): void {
    if (this.isCancelled) listener();
    else (this.cancelListeners ??= []).push(listener);
  }

  /** Marks the call cancelled and tells the listeners (once). */
  cancel(): void {
    if (this.isCancelled) return;
    this.isCancelled = true;
    this.finished = true;
    for (const l of this.cancelListeners ?? []) l();
    this.cancelListeners = undefined;
  }
}

/** A unary method: the decoded request in, the response out (a rejection is the status). */
export type UnaryHandler = (request: unknown, call: H2Call) => unknown;

/** What a client-streaming call does with its messages, and its answer once the client is done. */
export interface StreamReceiver {
  message(request: unknown): void;
  end(): unknown;
}

/** A client-streaming method: called when the call starts. */
export type ClientStreamHandler = (call: H2Call) => StreamReceiver;

export type H2Handler =
  { readonly unary: UnaryHandler } | { readonly clientStream: ClientStreamHandler };

export interface CallStatus {
  readonly code: number;
  readonly details: string;
}

/**
 * The status for what a handler threw or rejected with: an object with a gRPC `code` (1-16: a
 * grpc-js ServiceError, lib/grpc/status.ts's toServiceError) keeps it and its `details` (else its
 * `message`); anything else is UNKNOWN with its message, as grpc-js servers answer.
 */
export function statusOf(e: unknown): CallStatus {
  if (typeof e === 'object' && e !== null) {
    const { code, details, message } = e as {
      code?: unknown;
      details?: unknown;
      message?: unknown;
    };
    if (typeof code === 'number' && Number.isInteger(code) && code >= 1 && code <= 16) {
      const text =
        typeof details === 'string' ? details : typeof message === 'string' ? message : '';
      return { code, details: text };
    }
  }
  return { code: status.UNKNOWN, details: errorMessage(e) };
}
