/**
 * The attribute vocabulary: every attribute istio-lite produces or understands, with its type.
 * Expressions are type-checked against it when configuration arrives (an unknown name is a config
 * error), the decompressor uses it to turn wire bytes into IP addresses, and the compressor to tell
 * INT64 from DOUBLE. Names follow Istio 0.2's vocabulary (docs/reference/mixer.md, "Attribute
 * vocabulary").
 */
import { ValueType } from './value.ts';

const { STRING, INT64, BOOL, TIMESTAMP, DURATION, IP_ADDRESS, STRING_MAP } = ValueType;

function workload(prefix: 'source' | 'destination'): [string, ValueType][] {
  return [
    [`${prefix}.ip`, IP_ADDRESS],
    [`${prefix}.port`, INT64],
    [`${prefix}.name`, STRING],
    [`${prefix}.uid`, STRING],
    [`${prefix}.namespace`, STRING],
    [`${prefix}.labels`, STRING_MAP],
    [`${prefix}.user`, STRING],
    [`${prefix}.service`, STRING],
    [`${prefix}.serviceAccount`, STRING],
    [`${prefix}.principal`, STRING],
  ];
}

/** Name → type, in a fixed order (the global dictionary starts with these names). */
export const vocabulary: ReadonlyMap<string, ValueType> = new Map<string, ValueType>([
  ...workload('source'),
  ...workload('destination'),
  ['request.headers', STRING_MAP],
  ['request.id', STRING],
  ['request.path', STRING],
  ['request.host', STRING],
  ['request.method', STRING],
  ['request.reason', STRING],
  ['request.referer', STRING],
  ['request.scheme', STRING],
  ['request.size', INT64],
  ['request.total_size', INT64],
  ['request.time', TIMESTAMP],
  ['request.useragent', STRING],
  ['response.headers', STRING_MAP],
  ['response.size', INT64],
  ['response.total_size', INT64],
  ['response.time', TIMESTAMP],
  ['response.duration', DURATION],
  ['response.code', INT64],
  ['connection.id', STRING],
  ['connection.event', STRING],
  ['connection.received.bytes', INT64],
  ['connection.received.bytes_total', INT64],
  ['connection.sent.bytes', INT64],
  ['connection.sent.bytes_total', INT64],
  ['connection.duration', DURATION],
  ['connection.mtls', BOOL],
  ['connection.requested_server_name', STRING],
  ['context.protocol', STRING],
  ['context.time', TIMESTAMP],
  ['context.reporter.kind', STRING],
  ['check.error_code', INT64],
  ['check.error_message', STRING],
  ['check.cache_hit', BOOL],
  ['quota.cache_hit', BOOL],
  // From later Istio, for gateway reports (docs/reference/mixer.md "Who reports").
  ['origin.ip', IP_ADDRESS],
  ['context.reporter.uid', STRING],
]);

export function attributeType(name: string): ValueType | undefined {
  return vocabulary.get(name);
}
