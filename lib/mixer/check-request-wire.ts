/**
 * A Mixer v1 CheckRequest's bytes straight from an attribute set, for the agent's calls to Mixer
 * (every cache miss and every renewal): the compressed attributes of compress.ts written as they
 * are made, with no intermediate message (objects keyed by index strings, then protobufjs's
 * message). Under load those objects outlived the young generation while the call was on its way
 * and were most of what the agent promoted (docs/design/2026-12-03-per-request-tails.md). Held
 * equal to compress() encoded by protobufjs in check-request-wire.test.ts.
 *
 * Field numbers: istio/mixer/v1/check.proto and attributes.proto (lib/mixer/proto). Map fields
 * are repeated entries {key = 1, value = 2}; the message dictionary (`words`, field 1) is
 * written last, once every word is known (a repeated field's order on the wire is its order).
 */
import protobuf from 'protobufjs';
import { isInt64, WordTable } from './compress.ts';
import { Duration, IpAddress, type Value } from './value.ts';

const LEN = 2;
const tag = (field: number, wire: number) => (field << 3) | wire;

/** A map entry of `field` whose key is a sint32 index; the caller writes the value, then `ldelim`. */
function entry(w: protobuf.Writer, field: number, key: number): protobuf.Writer {
  return w.uint32(tag(field, LEN)).fork().uint32(tag(1, 0)).sint32(key);
}

function time(w: protobuf.Writer, ms: number): void {
  const { seconds, nanos } = new Duration(ms).toProto();
  w.uint32(tag(2, LEN)).fork();
  if (seconds !== 0) w.uint32(tag(1, 0)).int64(seconds);
  if (nanos !== 0) w.uint32(tag(2, 0)).int32(nanos);
  w.ldelim();
}

function value(w: protobuf.Writer, k: number, name: string, v: Value, t: WordTable): void {
  if (typeof v === 'string') {
    entry(w, 2, k).uint32(tag(2, 0)).sint32(t.indexOf(v)).ldelim();
  } else if (typeof v === 'boolean') {
    entry(w, 5, k).uint32(tag(2, 0)).bool(v).ldelim();
  } else if (typeof v === 'number') {
    if (isInt64(name, v)) entry(w, 3, k).uint32(tag(2, 0)).int64(v).ldelim();
    else entry(w, 4, k).uint32(tag(2, 1)).double(v).ldelim();
  } else if (v instanceof Date) {
    time(entry(w, 6, k), v.getTime());
    w.ldelim();
  } else if (v instanceof Duration) {
    time(entry(w, 7, k), v.ms);
    w.ldelim();
  } else if (v instanceof IpAddress || v instanceof Uint8Array) {
    entry(w, 8, k)
      .uint32(tag(2, LEN))
      .bytes(v instanceof IpAddress ? v.bytes : v)
      .ldelim();
  } else {
    entry(w, 9, k).uint32(tag(2, LEN)).fork();
    for (const [mk, mv] of v) {
      entry(w, 1, t.indexOf(mk)).uint32(tag(2, 0)).sint32(t.indexOf(mv)).ldelim();
    }
    w.ldelim().ldelim();
  }
}

/** The encoded CheckRequest for `bag`, asking for `quotas` (name to amount). */
export function encodeCheckRequest(
  bag: ReadonlyMap<string, Value>,
  quotas: ReadonlyMap<string, number>,
  deduplicationId: string,
  t: WordTable = new WordTable(),
): Uint8Array {
  const w = protobuf.Writer.create();
  w.uint32(tag(1, LEN)).fork();
  for (const [name, v] of bag) value(w, t.indexOf(name), name, v, t);
  for (const word of t.words) w.uint32(tag(1, LEN)).string(word);
  w.ldelim();
  if (t.globalWordCount !== 0) w.uint32(tag(2, 0)).uint32(t.globalWordCount);
  if (deduplicationId !== '') w.uint32(tag(3, LEN)).string(deduplicationId);
  for (const [name, amount] of quotas) {
    w.uint32(tag(4, LEN)).fork().uint32(tag(1, LEN)).string(name);
    w.uint32(tag(2, LEN)).fork();
    if (amount !== 0) w.uint32(tag(1, 0)).int64(amount);
    w.ldelim().ldelim();
  }
  return w.finish();
}
