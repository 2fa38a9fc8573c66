/**
 * Run by mixer/adapters/stackdriver-auth.test.ts in a process of its own (so NODE_EXTRA_CA_CERTS
 * and GOOGLE_APPLICATION_CREDENTIALS apply as they would to Mixer): starts Mixer on the config
 * file given as the first argument, sends one Mixer v1 Report, stops Mixer (its handlers flush),
 * and prints whether Google's client packages were loaded before the first push and after it,
 * with the resident set size at each point.
 *
 *   node mixer/testing/stackdriver-child.ts CONFIG.yaml
 */
import { createRequire } from 'node:module';
import { credentials } from '@grpc/grpc-js';
import { unaryClient } from '../../lib/grpc/services.ts';
import { compressReport } from '../../lib/mixer/compress.ts';
import { mixerService } from '../../lib/mixer/protos.ts';
import type { Value } from '../../lib/mixer/value.ts';
import { runMixer } from '../run.ts';
import { silentLogger } from './harness.ts';

const cache = createRequire(import.meta.url).cache;
const googleLoaded = () =>
  Object.keys(cache).some((k) => /[\\/]@google-cloud[\\/](monitoring|logging)[\\/]/.test(k));

const file = process.argv[2] ?? '';
const mixer = await runMixer({
  logger: silentLogger(),
  port: 0,
  host: '127.0.0.1',
  monitoringPort: 0,
  configDefaultNamespace: 'istio-system',
  configFiles: [file],
  failPolicy: 'closed',
  adapterModules: [],
  instance: 'child',
});
await mixer.ready();
const problems = mixer.core.controller.snapshot().problems.map((p) => p.message);
const client = unaryClient(
  mixerService(),
  `127.0.0.1:${String(mixer.grpcPort)}`,
  credentials.createInsecure(),
);
const set = new Map<string, Value>([
  ['destination.service', 'ratings.default.svc.cluster.local'],
  ['response.code', 200],
]);
for (const req of compressReport([set])) await client.call('Report', req);
client.close();
const before = { loaded: googleLoaded(), rss: process.memoryUsage().rss };
await mixer.close();
const after = { loaded: googleLoaded(), rss: process.memoryUsage().rss };
process.stdout.write(`${JSON.stringify({ problems, before, after })}\n`);
