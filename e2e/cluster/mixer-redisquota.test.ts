/**
 * redisquota against a real redis-server: two Mixer processes sharing one Redis hold the combined
 * limit (fixed and rolling windows); with Redis stopped the fail policy holds (closed: UNAVAILABLE
 * naming the handler; open: allowed, saying why); when Redis is back both recover without a
 * restart.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentials } from '@grpc/grpc-js';
import { unaryClient, type UnaryCaller } from '../../lib/grpc/services.ts';
import { compress } from '../../lib/mixer/compress.ts';
import { globalWordCount } from '../../lib/mixer/global-dictionary.ts';
import { mixerService } from '../../lib/mixer/protos.ts';
import type { Value } from '../../lib/mixer/value.ts';
import type { CheckResponseMessage } from '../../lib/mixer/wire.ts';
import { eventually } from './eventually.ts';
import { TestRedis, hasRedisServer } from './redis-server.ts';

function config(redis: string): string {
  return `
apiVersion: config.istio.io/v1alpha2
kind: redisquota
metadata: {name: handler, namespace: istio-system}
spec:
  redisServerUrl: ${redis}
  connectionPoolSize: 10
  quotas:
  - name: requestcount.quota.istio-system
    maxAmount: 5
    validDuration: 30s
    rateLimitAlgorithm: FIXED_WINDOW
  - name: rollingcount.quota.istio-system
    maxAmount: 4
    validDuration: 30s
    bucketDuration: 1s
    rateLimitAlgorithm: ROLLING_WINDOW
---
apiVersion: config.istio.io/v1alpha2
kind: quota
metadata: {name: requestcount, namespace: istio-system}
spec:
  dimensions:
    destination: destination.service | "unknown"
---
apiVersion: config.istio.io/v1alpha2
kind: quota
metadata: {name: rollingcount, namespace: istio-system}
spec:
  dimensions:
    destination: destination.service | "unknown"
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: quota, namespace: istio-system}
spec:
  actions:
  - handler: handler.redisquota
    instances: [requestcount.quota, rollingcount.quota]
`;
}

interface MixerProcess {
  readonly proc: ChildProcess;
  readonly client: { call: UnaryCaller; close: () => void };
}

const cli = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));

async function startMixer(file: string, failPolicy: 'open' | 'closed'): Promise<MixerProcess> {
  const proc = spawn(
    process.execPath,
    [
      cli,
      'mixer',
      '--configStoreURL',
      `fs://${file}`,
      '--port',
      '0',
      '--monitoringPort',
      '0',
      '--host',
      '127.0.0.1',
      '--failPolicy',
      failPolicy,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    proc.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      for (const line of buf.split('\n')) {
        const m = /"grpcPort":(\d+)/.exec(line);
        if (m) resolve(Number(m[1]));
      }
    });
    proc.on('exit', (code) => {
      reject(new Error(`mixer exited with ${String(code)}`));
    });
  });
  return {
    proc,
    client: unaryClient(mixerService(), `127.0.0.1:${String(port)}`, credentials.createInsecure()),
  };
}

async function stopMixer(m: MixerProcess | undefined): Promise<void> {
  if (!m) return;
  m.client.close();
  if (m.proc.exitCode !== null) return;
  const exited = new Promise((resolve) => m.proc.once('exit', resolve));
  m.proc.kill('SIGTERM');
  await exited;
}

async function ask(m: MixerProcess, service: string, quota: string): Promise<CheckResponseMessage> {
  const attrs = new Map<string, Value>([['destination.service', service]]);
  return (await m.client.call('Check', {
    attributes: compress(attrs),
    global_word_count: globalWordCount,
    quotas: { [quota]: { amount: 1, best_effort: false } },
  })) as CheckResponseMessage;
}

describe('mixer redisquota with a real redis-server', function () {
  this.timeout(60_000);
  const redis = new TestRedis();
  const dir = mkdtempSync(join(tmpdir(), 'istio-lite-mixer-redis-'));
  let closed: MixerProcess | undefined;
  let open: MixerProcess | undefined;

  before(async function () {
    // npm test installs the Debian package first (scripts/test-setup.sh); run by hand without it,
    // this suite has nothing to test against.
    if (!hasRedisServer()) this.skip();
    await redis.start();
    const file = join(dir, 'redisquota.yaml');
    writeFileSync(file, config(redis.url));
    [closed, open] = await Promise.all([startMixer(file, 'closed'), startMixer(file, 'open')]);
  });

  after(async () => {
    await stopMixer(closed);
    await stopMixer(open);
    await redis.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [quota, limit] of [
    ['requestcount', 5],
    ['rollingcount', 4],
  ] as const) {
    it(`two Mixer processes hold the combined limit (${quota}: ${String(limit)})`, async () => {
      const granted: number[] = [];
      for (let i = 0; i < 10; i++) {
        const m = i % 2 === 0 ? closed! : open!;
        const res = await ask(m, `${quota}-svc.default.svc.cluster.local`, quota);
        granted.push(res.quotas[quota]?.granted_amount ?? -1);
      }
      assert.equal(granted.filter((g) => g === 1).length, limit, JSON.stringify(granted));
      assert.deepEqual(granted.slice(limit), new Array<number>(10 - limit).fill(0));
    });
  }

  it('with Redis down the fail policy holds, and both recover when it is back', async () => {
    await redis.stop();
    const service = 'outage.default.svc.cluster.local';
    await eventually(async () => {
      const res = await ask(closed!, service, 'requestcount');
      assert.equal(res.precondition.status.code, 14);
      assert.match(
        res.precondition.status.message,
        /handler\.redisquota\.istio-system failed \(Redis at redis:\/\/127\.0\.0\.1:\d+ .*\); failing closed/,
      );
      assert.equal(res.quotas['requestcount']?.granted_amount, 0);
    });
    const res = await ask(open!, service, 'requestcount');
    assert.equal(res.precondition.status.code, 0);
    assert.match(res.precondition.status.message, /failing open/);
    assert.equal(res.quotas['requestcount']?.granted_amount, 1);
    assert.deepEqual(res.precondition.valid_duration, { seconds: 1, nanos: 0 });

    await redis.start();
    await eventually(
      async () => {
        for (const m of [closed!, open!]) {
          const r = await ask(m, service, 'requestcount');
          assert.deepEqual(r.precondition.status, { code: 0, message: '', details: [] });
          assert.equal(r.quotas['requestcount']?.granted_amount, 1);
        }
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
  });
});
