/**
 * A Mixer v1 CheckResponse's bytes straight from Mixer's answer, for Mixer's Check (its busiest
 * path). Through protobufjs the answer was first a message of plain objects (conditions as enum
 * names, durations as {seconds, nanos}), then `fromObject` made message instances of it and
 * `encode` wrote them: about 11 KB allocated for a 144-byte answer, and the referenced attributes
 * (the largest part) converted and written once for the precondition and again for every quota.
 * Here they are written once, into a reused buffer (scratch-writer.ts), and their bytes copied
 * into each quota. Held equal to the protobufjs encoding, decoded, in
 * check-response-wire.test.ts.
 *
 * Field numbers: istio/mixer/v1/check.proto (lib/mixer/proto). CheckResponse {precondition = 2,
 * quotas = 3 (map: entries {key = 1, value = 2})}; PreconditionResult {status = 1,
 * valid_duration = 2, valid_use_count = 3, referenced_attributes = 5}; QuotaResult
 * {valid_duration = 1, granted_amount = 2, referenced_attributes = 5}; ReferencedAttributes
 * {words = 1, attribute_matches = 2 {name = 1 (sint32), condition = 2, map_key = 4 (sint32)}};
 * google.rpc.Status {code = 1, message = 2}; google.protobuf.Duration {seconds = 1, nanos = 2}.
 * Scalars equal to their default are left out, as proto3 allows; messages are always written.
 */
import { WordTable } from './compress.ts';
import { mapKeyIndex, type AttributeRef } from './referenced.ts';
import { ScratchWriter } from './scratch-writer.ts';
import { Duration } from './value.ts';
import { Condition } from './wire.ts';

/** What a Check decided, as Mixer's core answers it. */
export interface CheckAnswer {
  readonly status: { readonly code: number; readonly message: string };
  readonly validDurationMs: number;
  readonly validUseCount: number;
  readonly referenced: readonly AttributeRef[];
  readonly quotas: ReadonlyMap<
    string,
    { readonly validDurationMs: number; readonly granted: number }
  >;
}

const VARINT = 0;
const LEN = 2;

/** ReferencedAttributes.Condition's numbers. */
const conditionNumber: Readonly<Record<AttributeRef['condition'], number>> = {
  [Condition.ABSENCE]: 1,
  [Condition.EXACT]: 2,
};

// Encoding is synchronous: one writer serves every response.
const writer = new ScratchWriter();

function duration(w: ScratchWriter, field: number, ms: number): void {
  const { seconds, nanos } = new Duration(ms).toProto();
  w.fork(field);
  if (seconds !== 0) w.tag(1, VARINT).int(seconds);
  if (nanos !== 0) w.tag(2, VARINT).int(nanos);
  w.ldelim();
}

/**
 * ReferencedAttributes' fields, into `w`, indexed as encodeReferenced does (referenced.ts). The
 * words are written after the matches that made them known (field order on the wire is free; a
 * repeated field's own order is kept).
 */
function writeReferenced(w: ScratchWriter, refs: readonly AttributeRef[]): void {
  const t = new WordTable();
  for (const r of refs) {
    w.fork(2);
    const name = t.indexOf(r.name);
    if (name !== 0) w.tag(1, VARINT).sint32(name);
    w.tag(2, VARINT).int(conditionNumber[r.condition]);
    if (r.mapKey !== undefined) w.tag(4, VARINT).sint32(mapKeyIndex(t, r.mapKey));
    w.ldelim();
  }
  for (const word of t.words) w.tag(1, LEN).string(word);
}

/**
 * The CheckResponse for `a`: its referenced attributes in the precondition and in every quota.
 * They are the precondition's last field, so once it is closed they are its last bytes, copied
 * from there into each quota.
 */
export function encodeCheckResponse(a: CheckAnswer): Uint8Array {
  // Reset: an answer whose writing threw must not leave its half in the next one.
  const w = writer.reset();
  w.fork(2).fork(1);
  if (a.status.code !== 0) w.tag(1, VARINT).int(a.status.code);
  if (a.status.message !== '') w.tag(2, LEN).string(a.status.message);
  w.ldelim();
  duration(w, 2, a.validDurationMs);
  if (a.validUseCount !== 0) w.tag(3, VARINT).int(a.validUseCount);
  const refStart = w.length;
  w.fork(5);
  writeReferenced(w, a.referenced);
  w.ldelim();
  const refLength = w.length - refStart;
  w.ldelim();
  const refAt = w.length - refLength;
  for (const [name, q] of a.quotas) {
    w.fork(3).tag(1, LEN).string(name).fork(2);
    duration(w, 1, q.validDurationMs);
    if (q.granted !== 0) w.tag(2, VARINT).int(q.granted);
    w.again(refAt, refLength).ldelim().ldelim();
  }
  return w.finish();
}
