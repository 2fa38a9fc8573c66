/**
 * The load side of bench/agent (its own process and core): Envoy's ext_authz CheckRequests,
 * encoded once with Envoy's protos, sent closed-loop with CONCURRENCY in flight to TARGET (the
 * agent's MIXER socket, or Mixer's own ext_authz endpoint) for SECONDS after a one-second warm-up.
 * The workload: `sidecar` or `gateway` checks (./workload.ts).
 * `sidecar-traced` is `sidecar` with the B3 headers a traced Envoy puts on every ext_authz call
 * (its HCM's sampling decided: 1 call in 100 sampled), as the tracing comparison sends them.
 * `als-sidecar` and `als-gateway` stream access log messages instead (100 HTTP entries each, one
 * message a call, tagged as Pilot tags each side's logs); the rate counts entries.
 * Prints one JSON line.
 *
 *   load.ts TARGET SECONDS CONCURRENCY [sidecar|sidecar-traced|gateway|als-sidecar|als-gateway]
 */
import { randomBytes } from 'node:crypto';
import { EnvoyMixerClient } from '../../agent/testing/envoy-mixer-client.ts';
import { authzRequests } from './workload.ts';

const [target = '', secondsArg = '5', concArg = '32', workload = 'sidecar'] = process.argv.slice(2);
const seconds = Number(secondsArg);
const concurrency = Number(concArg);

const requests = authzRequests(workload === 'gateway' ? 'gateway' : 'sidecar');

const client = new EnvoyMixerClient(target);

const sock = (address: string, port: number) => ({ socket_address: { address, port_value: port } });

/** One ALS message of 100 HTTP entries, as a sidecar's inbound or a gateway's listener logs them. */
function alsMessage(gateway: boolean): object {
  return {
    identifier: { node: { id: 'router~10.1.9.9~gw.default' }, log_name: 'istio-lite-mixer-report' },
    http_logs: {
      log_entry: Array.from({ length: 100 }, (_, i) => ({
        common_properties: {
          downstream_remote_address: sock(`203.0.113.${String(i % 6)}`, 40000 + i),
          downstream_local_address: sock('10.1.9.9', gateway ? 8080 : 9080),
          upstream_remote_address: sock('10.1.0.2', 9080),
          start_time: { seconds: Math.floor(Date.now() / 1000), nanos: 0 },
          time_to_last_downstream_tx_byte: { seconds: 0, nanos: 3_000_000 },
          upstream_cluster: gateway
            ? 'outbound|9080||ratings.default.svc.cluster.local'
            : 'inbound|9080||ratings.default.svc.cluster.local',
          custom_tags: { 'context.reporter.kind': gateway ? 'outbound' : 'inbound' },
        },
        request: {
          request_method: 'GET',
          authority: gateway ? 'shop.example.com' : 'ratings:9080',
          path: `/ratings/${String(i % 5)}`,
          request_id: `id-${String(i)}`,
        },
        response: { response_code: { value: 200 }, response_body_bytes: 10 },
      })),
    },
  };
}

/** Envoy's ext_authz span contexts: 100 traces, the first sampled (1%); none untraced. */
const traceHeaders: Readonly<Record<string, string>>[] =
  workload === 'sidecar-traced'
    ? Array.from({ length: 100 }, (_, i) => ({
        'x-b3-traceid': randomBytes(16).toString('hex'),
        'x-b3-spanid': randomBytes(8).toString('hex'),
        'x-b3-parentspanid': randomBytes(8).toString('hex'),
        'x-b3-sampled': i === 0 ? '1' : '0',
      }))
    : [{}];

const als = workload.startsWith('als-') ? alsMessage(workload === 'als-gateway') : undefined;
/** Units of work per call: checks, or log entries. */
const unitsPerCall = als ? 100 : 1;

async function once(i: number): Promise<boolean> {
  if (als) {
    await client.accessLogs([als]);
    return false;
  }
  const a = await client.checkBytes(
    requests[i % requests.length] as Uint8Array,
    5000,
    traceHeaders[i % traceHeaders.length],
  );
  return a.code !== 0;
}

async function run(
  ms: number,
  record: boolean,
): Promise<{ latencies: number[]; errors: number; denied: number }> {
  const latencies: number[] = [];
  let errors = 0;
  let denied = 0;
  let next = 0;
  const until = performance.now() + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const t0 = performance.now();
        try {
          if (await once(next++)) denied++;
        } catch {
          errors++;
        }
        if (record) latencies.push(performance.now() - t0);
      }
    }),
  );
  return { latencies, errors, denied };
}

await run(1000, false);
const r = await run(seconds * 1000, true);
r.latencies.sort((a, b) => a - b);
const q = (p: number) =>
  r.latencies[Math.min(r.latencies.length - 1, Math.floor(p * r.latencies.length))] ?? 0;
process.stdout.write(
  `${JSON.stringify({
    checks: r.latencies.length * unitsPerCall,
    perSecond: (r.latencies.length * unitsPerCall) / seconds,
    p50: q(0.5),
    p99: q(0.99),
    errors: r.errors,
    denied: r.denied,
  })}\n`,
);
client.close();
