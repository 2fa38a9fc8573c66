/**
 * A request's header block as a stream's headers (RFC 9113 8.3): decoded (hpack.ts), repeated
 * names as arrays, and what makes the request malformed (a name not in lower case, a
 * pseudo-header after a regular one, no :method or :path), which resets that stream only.
 * The headers objects themselves (emptyHeaders, addHeader) are the client's too, for the
 * responses it reads.
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

/**
 * The prototype of every headers object: it has no properties and no prototype of its own, so a
 * header named `__proto__`, `constructor` or `toString` is only ever the request's own field.
 * Objects made from a shared prototype keep V8's fast layout (a request's handful of names, in
 * the same order call after call, share one hidden class); `Object.create(null)` objects start in
 * dictionary mode, which cost ~890 bytes a request against ~160 (measured with a typical gRPC
 * request's nine fields).
 */
const noInherited: object = Object.freeze(Object.create(null) as object);

/** An empty headers object (of a request, or of a response a client reads). */
export function emptyHeaders(): H2Headers {
  return Object.create(noInherited) as H2Headers;
}

/** Adds a field; a repeated name becomes an array of its values, in order. */
export function addHeader(headers: H2Headers, name: string, value: string): void {
  const prev = headers[name];
  headers[name] =
    prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
}

export function readHeaderBlock(decoder: HpackDecoder, block: Buffer): RequestHeaders {
  const headers = emptyHeaders();
  let malformed = '';
  let regularSeen = false;
  const listSize = decoder.decode(block, (name, value) => {
    if (name !== name.toLowerCase()) malformed ||= `header name ${name} is not lower case`;
    if (name.startsWith(':')) {
      if (regularSeen) malformed ||= `pseudo-header ${name} after a regular header`;
    } else regularSeen = true;
    addHeader(headers, name, value);
  });
  if (malformed === '' && headers[':method'] === undefined) malformed = 'no :method';
  if (malformed === '' && headers[':path'] === undefined) malformed = 'no :path';
  return { headers, malformed, listSize };
}

/** `:status: 431` (a literal of the static :status name, index 8), for a header list too large. */
export const status431 = Buffer.from([0x08, 0x03, 0x34, 0x33, 0x31]);
