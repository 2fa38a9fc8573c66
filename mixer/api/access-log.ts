/**
 * `envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs`: each streamed message's HTTP or
 * TCP log entries become attribute sets, reported like a Mixer v1 Report batch.
 */
import { attributesFromHttpLog, attributesFromTcpLog } from '../../lib/mixer/envoy-attributes.ts';
import type { Value } from '../../lib/mixer/value.ts';
import type { MixerCore } from '../core.ts';

export function attributesFromAlsMessage(message: unknown): Map<string, Value>[] {
  const m = message as {
    http_logs?: { log_entry?: unknown };
    tcp_logs?: { log_entry?: unknown };
  } | null;
  const http = m?.http_logs?.log_entry;
  const tcp = m?.tcp_logs?.log_entry;
  return [
    ...(Array.isArray(http) ? http.map(attributesFromHttpLog) : []),
    ...(Array.isArray(tcp) ? tcp.map(attributesFromTcpLog) : []),
  ];
}

export async function accessLogs(core: MixerCore, message: unknown): Promise<number> {
  const bags = attributesFromAlsMessage(message);
  if (bags.length > 0) await core.report('als', bags);
  return bags.length;
}
