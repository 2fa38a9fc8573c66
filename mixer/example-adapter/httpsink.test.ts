/**
 * The example user adapter, loaded the way a user loads theirs (`--adapterModules` with a path):
 * Mixer runs it from a YAML config and the collector receives the batched entries on flush.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentials } from '@grpc/grpc-js';
import { unaryClient } from '../../lib/grpc/services.ts';
import { compressReport } from '../../lib/mixer/compress.ts';
import { mixerService } from '../../lib/mixer/protos.ts';
import type { Value } from '../../lib/mixer/value.ts';
import { loadAdapterModule } from '../adapter-registry.ts';
import { runMixer } from '../run.ts';
import { silentLogger } from '../testing/harness.ts';

describe('a user adapter loaded from its own module (example: httpsink)', function () {
  this.timeout(20_000);
  let collector: Server;
  const bodies: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'istio-lite-httpsink-'));
  before(async () => {
    collector = createServer((req, res) => {
      let b = '';
      req.on('data', (d: Buffer) => (b += d.toString()));
      req.on('end', () => {
        bodies.push(b);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    await new Promise((resolve) => collector.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a module that exports no adapter', async () => {
    const bad = join(dir, 'bad.mjs');
    writeFileSync(bad, 'export default { hello: 1 };\n');
    await assert.rejects(
      loadAdapterModule(bad),
      /must export \(default\) an adapter or a list of adapters/,
    );
  });

  it('Mixer runs it from config and the collector gets the entries', async () => {
    const port = (collector.address() as { port: number }).port;
    const yaml = readFileSync(new URL('./httpsink.yaml', import.meta.url), 'utf8')
      .split('\n---\n')
      .slice(1)
      .join('\n---\n')
      .replace(
        'http://log-collector.observability:8080/ingest',
        `http://127.0.0.1:${String(port)}/ingest`,
      );
    const file = join(dir, 'config.yaml');
    writeFileSync(file, yaml);
    const mixer = await runMixer({
      logger: silentLogger(),
      port: 0,
      host: '127.0.0.1',
      monitoringPort: 0,
      configDefaultNamespace: 'istio-system',
      configFiles: [file],
      failPolicy: 'closed',
      adapterModules: [fileURLToPath(new URL('./httpsink.ts', import.meta.url))],
      instance: 'test',
    });
    await mixer.ready();
    assert.deepEqual(mixer.core.controller.snapshot().problems, []);
    const client = unaryClient(
      mixerService(),
      `127.0.0.1:${String(mixer.grpcPort)}`,
      credentials.createInsecure(),
    );
    const sets = [200, 404].map(
      (code) =>
        new Map<string, Value>([
          ['destination.service', 'ratings.default.svc.cluster.local'],
          ['request.path', '/ratings/0'],
          ['response.code', code],
        ]),
    );
    for (const req of compressReport(sets)) await client.call('Report', req);
    client.close();
    await mixer.close(); // SIGTERM path: handlers flush their batches
    const lines = bodies
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { instance: string; variables: Record<string, unknown> });
    assert.deepEqual(
      lines.map((l) => [l.instance, l.variables['code']]),
      [
        ['httplog.logentry.istio-system', 200],
        ['httplog.logentry.istio-system', 404],
      ],
    );
  });
});
