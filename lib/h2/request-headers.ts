/**
 * A request's header block as a stream's headers (RFC 9113 8.3): decoded (hpack.ts), repeated
 * names as arrays, and what makes the request malformed (a name not in lower case, a
 * pseudo-header after a regular one, no :method or :path), which resets that stream only.
 */
import type { HpackDecoder } from './hpack.ts';
import type { H2Headers } from './stream.ts';

export interface RequestHeaders {
  readonly headers: H2Headers;
  /** Why the request is malformed; empty when it is not. */
  readonly malformed: string;
  /** The header list size (RFC 9113 6.5.2), against SETTINGS_MAX_HEADER_LIST_SIZE. */
  readonly listSize: number;
}

export function readHeaderBlock(decoder: HpackDecoder, block: Buffer): RequestHeaders {
  const headers: H2Headers = Object.create(null) as H2Headers;
  let malformed = '';
  let regularSeen = false;
  const listSize = decoder.decode(block, (name, value) => {
    if (name !== name.toLowerCase()) malformed ||= `header name ${name} is not lower case`;
    if (name.startsWith(':')) {
      if (regularSeen) malformed ||= `pseudo-header ${name} after a regular header`;
    } else regularSeen = true;
    const prev = headers[name];
    headers[name] =
      prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  });
  if (malformed === '' && headers[':method'] === undefined) malformed = 'no :method';
  if (malformed === '' && headers[':path'] === undefined) malformed = 'no :path';
  return { headers, malformed, listSize };
}

/** `:status: 431` (a literal of the static :status name, index 8), for a header list too large. */
export const status431 = Buffer.from([0x08, 0x03, 0x34, 0x33, 0x31]);
