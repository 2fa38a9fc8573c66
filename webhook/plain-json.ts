/**
 * The webhook's hot path reads a request without express: `POST /inject` (any query, such as the
 * API server's `?timeout=10s`) whose body is plain JSON (Content-Type `application/json`, at most a
 * utf-8 charset, no Content-Encoding) of a known length within the limit: what the API server
 * sends. Anything else (a compressed or chunked body, another charset, a body over the limit, a
 * path express would also route here such as `/inject/`) takes the express route, as before.
 * The body is decoded as body-parser's JSON parser does it (a byte order mark dropped, an empty
 * body read as `{}`), so both routes read the same value and refuse the same bodies with the same
 * message.
 */
import type { IncomingMessage } from 'node:http';
import { errorMessage } from '../lib/errors.ts';

const plainJsonType = /^application\/json[ \t]*(?:;[ \t]*charset[ \t]*=[ \t]*"?utf-8"?[ \t]*)?$/i;

export function isPlainJsonPost(req: IncomingMessage, limitBytes: number): boolean {
  if (req.method !== 'POST') return false;
  const url = req.url ?? '';
  if (url !== '/inject' && !url.startsWith('/inject?')) return false;
  const { headers } = req;
  const encoding = headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
  if (headers['transfer-encoding'] !== undefined) return false;
  const length = Number(headers['content-length'] ?? NaN);
  if (!(length > 0 && length <= limitBytes)) return false;
  const type = headers['content-type'];
  return type !== undefined && plainJsonType.test(type);
}

export type BodyResult =
  { readonly ok: true; readonly body: unknown } | { readonly ok: false; readonly message: string };

/** Reads the whole body and parses it; a broken connection or bad JSON is a message, once. */
export function readPlainJson(req: IncomingMessage, done: (result: BodyResult) => void): void {
  const chunks: Buffer[] = [];
  let finished = false;
  const finish = (r: BodyResult) => {
    if (finished) return;
    finished = true;
    done(r);
  };
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.once('end', () => {
    const buffer =
      chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks);
    let text = buffer.toString('utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (text.length === 0) {
      finish({ ok: true, body: {} });
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (e) {
      finish({ ok: false, message: `body is not valid JSON: ${errorMessage(e)}` });
      return;
    }
    finish({ ok: true, body });
  });
  // As body-parser words it; the answer cannot reach a client that is gone, the count still does.
  req.once('error', () => {
    finish({ ok: false, message: 'request aborted' });
  });
  req.once('close', () => {
    if (!req.complete) finish({ ok: false, message: 'request aborted' });
  });
}
