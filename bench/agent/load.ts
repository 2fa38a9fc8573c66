/**
 * The load side of bench/agent (its own process and core): Envoy's ext_authz CheckRequests,
 * encoded once with Envoy's protos, sent closed-loop with CONCURRENCY in flight to TARGET (the
 * agent's MIXER socket, or Mixer's own ext_authz endpoint) for SECONDS after a one-second warm-up.
 * The workload: 60 distinct requests (sources reviews v1-v3 and productpage, to ratings and
 * details, 5 paths each) cycled. Prints one JSON line.
 *
 *   load.ts TARGET SECONDS CONCURRENCY
 */
import { EnvoyMixerClient, checkRequest } from '../../agent/testing/envoy-mixer-client.ts';

const [target = '', secondsArg = '5', concArg = '32'] = process.argv.slice(2);
const seconds = Number(secondsArg);
const concurrency = Number(concArg);

const requests: Uint8Array[] = [];
for (const [app, version] of [
  ['reviews', 'v1'],
  ['reviews', 'v2'],
  ['reviews', 'v3'],
  ['productpage', 'v1'],
  ['productpage', 'v2'],
  ['productpage', 'v3'],
]) {
  for (const dest of ['ratings', 'details']) {
    for (let p = 0; p < 5; p++) {
      requests.push(
        checkRequest({
          path: `/${dest}/${p}`,
          host: `${dest}:9080`,
          context: {
            'source.labels.app': app ?? '',
            'source.labels.version': version ?? '',
            'destination.labels.app': dest,
            'destination.service': `${dest}.default.svc.cluster.local`,
          },
        }),
      );
    }
  }
}

const client = new EnvoyMixerClient(target);

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
        const req = requests[next++ % requests.length] as Uint8Array;
        const t0 = performance.now();
        try {
          const a = await client.checkBytes(req);
          if (a.code !== 0) denied++;
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
    checks: r.latencies.length,
    perSecond: r.latencies.length / seconds,
    p50: q(0.5),
    p99: q(0.99),
    errors: r.errors,
    denied: r.denied,
  })}\n`,
);
client.close();
