/**
 * `istio.mixer.v1.Mixer`: Check and Report with compressed attributes. Decoding errors (a bad word
 * index, another global dictionary) are InvalidRequest errors; decisions travel in the response's
 * precondition status, never as a gRPC error.
 */
import { ErrorCode, IstioLiteError } from '../../lib/errors.ts';
import { decompressCheck, decompressReport } from '../../lib/mixer/decompress.ts';
import { encodeCheckResponse } from '../../lib/mixer/check-response-wire.ts';
import { decodeCheckRequest, decodeReportRequest } from '../../lib/mixer/wire-decode.ts';
import type { Value } from '../../lib/mixer/value.ts';
import type { MixerCore } from '../core.ts';
import type { QuotaAsk } from '../dispatch/check.ts';

function quotaAsks(request: unknown): Map<string, QuotaAsk> {
  const out = new Map<string, QuotaAsk>();
  const q = (request as { quotas?: unknown } | null)?.quotas;
  if (q === undefined || q === null) return out;
  if (typeof q !== 'object')
    throw new IstioLiteError(ErrorCode.InvalidRequest, 'quotas must be a map');
  for (const [name, p] of Object.entries(q as Record<string, unknown>)) {
    const amount = (p as { amount?: unknown } | null)?.amount ?? 0;
    const best = (p as { best_effort?: unknown } | null)?.best_effort ?? false;
    if (typeof amount !== 'number' || !Number.isInteger(amount) || amount <= 0) {
      throw new IstioLiteError(
        ErrorCode.InvalidRequest,
        `quotas[${name}].amount must be a positive integer`,
      );
    }
    out.set(name, { amount, bestEffort: best === true });
  }
  return out;
}

/**
 * `request`: the message's bytes (decoded here, the fast path) or its protobufjs object. Answers
 * with the CheckResponse's bytes (lib/mixer/check-response-wire.ts), never a message object.
 */
export async function mixerCheck(core: MixerCore, request: unknown): Promise<Uint8Array> {
  let bag: ReadonlyMap<string, Value>;
  let asks: ReadonlyMap<string, QuotaAsk>;
  let dedup: unknown;
  if (request instanceof Uint8Array) {
    const r = decodeCheckRequest(request);
    bag = r.attributes;
    asks = r.quotas;
    dedup = r.deduplicationId;
  } else {
    bag = decompressCheck(request);
    asks = quotaAsks(request);
    dedup = (request as { deduplication_id?: unknown }).deduplication_id;
  }
  return encodeCheckResponse(
    await core.check('mixer', bag, asks, typeof dedup === 'string' ? dedup : ''),
  );
}

/** `request`: the message's bytes (decoded here, the fast path) or its protobufjs object. */
export async function mixerReport(
  core: MixerCore,
  request: unknown,
): Promise<Record<string, never>> {
  const bags =
    request instanceof Uint8Array ? decodeReportRequest(request) : decompressReport(request);
  await core.report('mixer', bags);
  return {};
}
