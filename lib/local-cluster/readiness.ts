/**
 * Waiting for the local cluster's processes: etcd's `/health` over HTTP and kube-apiserver's
 * `/readyz` over HTTPS with the admin client certificate, polled until 200 or a deadline, and
 * failing at once when the process exits first (with the end of its log in the message).
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, IstioLiteError } from '../errors.ts';

export interface Probe {
  readonly url: string;
  readonly tls?: { readonly ca: string; readonly cert: string; readonly key: string };
}

/** One GET; resolves with the status code (0 when the connection failed). */
export function probeOnce(p: Probe, timeoutMs = 2000): Promise<number> {
  return new Promise((resolve) => {
    const opts = { timeout: timeoutMs, agent: false as const, ...(p.tls ?? {}) };
    const req = (p.url.startsWith('https:') ? httpsRequest : httpRequest)(p.url, opts, (res) => {
      res.resume();
      res.on('end', () => {
        resolve(res.statusCode ?? 0);
      });
      res.on('error', () => {
        resolve(0);
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => {
      resolve(0);
    });
    req.end();
  });
}

/** The last `lines` lines of a log file, for error messages. */
export function logTail(path: string, lines = 15): string {
  try {
    const all = readFileSync(path, 'utf8').trimEnd().split('\n');
    return all.slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Thrown when a process exits because its port was taken: `up` retries with other ports. */
export class PortInUseError extends IstioLiteError {
  constructor(message: string) {
    super(ErrorCode.External, message);
    this.name = 'PortInUseError';
  }
}

export interface WaitOptions {
  readonly name: string;
  readonly probe: Probe;
  readonly child: ChildProcess;
  readonly logPath: string;
  readonly timeoutMs: number;
}

/** Polls until the probe answers 200; throws when the process exits or the deadline passes. */
export async function waitUntilReady(o: WaitOptions): Promise<void> {
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
    exited = { code, signal };
  };
  o.child.once('exit', onExit);
  const deadline = Date.now() + o.timeoutMs;
  try {
    for (;;) {
      if (o.child.exitCode !== null || o.child.signalCode !== null) {
        exited ??= { code: o.child.exitCode, signal: o.child.signalCode };
      }
      if (exited !== undefined) {
        const tail = logTail(o.logPath);
        const msg = `${o.name} exited (${exited.signal ?? `code ${String(exited.code)}`}) before it was ready; ${o.logPath}:\n${tail}`;
        if (/address already in use/i.test(tail)) throw new PortInUseError(msg);
        throw new IstioLiteError(ErrorCode.External, msg);
      }
      if ((await probeOnce(o.probe)) === 200) return;
      if (Date.now() > deadline) {
        throw new IstioLiteError(
          ErrorCode.External,
          `${o.name} not ready at ${o.probe.url} after ${o.timeoutMs} ms; ${o.logPath}:\n${logTail(o.logPath)}`,
        );
      }
      await sleep(100);
    }
  } finally {
    o.child.off('exit', onExit);
  }
}
