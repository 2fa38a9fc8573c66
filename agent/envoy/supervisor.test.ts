import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createRegistry } from '../../lib/metrics.ts';
import { buildBootstrap } from '../bootstrap/bootstrap.ts';
import { nodeIdentity } from '../bootstrap/node.ts';
import { parseAgentConfig, type AgentConfig } from '../settings.ts';
import { writeFakeEnvoy, type FakeEnvoyEvent } from '../testing/fake-envoy.ts';
import { envoyArgs } from './command-line.ts';
import { EnvoySupervisor, type EnvoySupervisorOptions } from './supervisor.ts';
import { freePort } from '../../lib/free-ports.ts';

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('Envoy supervisor (with a fake Envoy binary)', function () {
  this.timeout(20_000);
  let dir: string;
  let config: AgentConfig;
  let fake: ReturnType<typeof writeFakeEnvoy>;
  const running: EnvoySupervisor[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agent-envoy-'));
    fake = writeFakeEnvoy(dir);
    const adminPort = await freePort();
    config = parseAgentConfig(
      'sidecar',
      {
        configPath: dir,
        binaryPath: fake.binary,
        proxyAdminPort: String(adminPort),
        drainDuration: '300ms',
      },
      { POD_NAME: 'p', POD_NAMESPACE: 'ns', INSTANCE_IP: '10.0.0.1' },
    );
    const bootstrap = buildBootstrap({
      node: nodeIdentity(config),
      adminPort,
      statsPort: config.statsPort,
      sockets: config.sockets,
      connectTimeoutMs: config.connectTimeoutMs,
    });
    writeFileSync(config.bootstrapPath, JSON.stringify(bootstrap));
  });

  afterEach(async () => {
    for (const s of running.splice(0)) await s.drainAndStop();
    rmSync(dir, { recursive: true, force: true });
  });

  function supervisor(mode: string, extra: Partial<EnvoySupervisorOptions> = {}): EnvoySupervisor {
    const s = new EnvoySupervisor({
      binaryPath: config.binaryPath,
      args: envoyArgs(config),
      adminPort: config.proxyAdminPort,
      logger,
      metrics: createRegistry('agent', false),
      drainMs: config.drainMs,
      stopGraceMs: 500,
      backoff: { initialMs: 100, maxMs: 400 },
      pollMs: 50,
      env: { ...process.env, FAKE_ENVOY_LOG: fake.logFile, FAKE_ENVOY_MODE: mode },
      ...extra,
    });
    running.push(s);
    return s;
  }

  const of = (e: FakeEnvoyEvent['event']) => fake.events().filter((x) => x.event === e);

  it('starts Envoy with the bootstrap and flags, and is live once admin answers LIVE', async () => {
    const s = supervisor('');
    assert.equal(s.live(), 'Envoy is not running');
    s.start();
    await until(() => s.live() === undefined);
    const args = of('start')[0]?.args ?? [];
    assert.deepEqual(args.slice(0, 10), [
      '-c',
      config.bootstrapPath,
      '--drain-time-s',
      '1',
      '--drain-strategy',
      'immediate',
      '--parent-shutdown-time-s',
      '60',
      '--local-address-ip-version',
      'v4',
    ]);
    assert.ok(args.includes('--disable-hot-restart'));
  });

  it('restarts a crashing Envoy with growing delays, and reports each exit', async () => {
    const exits: (number | null)[] = [];
    const s = supervisor('crash', { onExit: (code) => exits.push(code) });
    s.start();
    await until(() => of('start').length >= 4, 8000);
    const starts = of('start').map((e) => e.t);
    const crashes = of('crash').map((e) => e.t);
    // Gap between a crash and the next start: the backoff (100, 200, 400 ms).
    const gaps = crashes.slice(0, 3).map((c, i) => (starts[i + 1] ?? 0) - c);
    assert.ok(gaps[0]! >= 90, `first gap ${gaps[0]}`);
    assert.ok(gaps[1]! >= 190, `second gap ${gaps[1]}`);
    assert.ok(gaps[2]! >= 390, `third gap ${gaps[2]}`);
    assert.ok(exits.length >= 3 && exits.every((c) => c === 1));
  });

  it('on stop: drains through admin, waits the drain time, then SIGTERM; no restart', async () => {
    const s = supervisor('');
    s.start();
    await until(() => s.live() === undefined);
    await s.drainAndStop();
    running.pop();
    const drain = of('drain')[0];
    const term = of('SIGTERM')[0];
    assert.ok(drain && term, JSON.stringify(fake.events()));
    assert.match(drain.url ?? '', /graceful/);
    assert.ok(term.t - drain.t >= 290, `SIGTERM ${term.t - drain.t} ms after the drain`);
    assert.equal(of('exit').length, 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(of('start').length, 1, 'not restarted after a stop');
    assert.equal(s.live(), 'Envoy is not running');
  });

  it('kills an Envoy that ignores SIGTERM after the grace time', async () => {
    const s = supervisor('ignore-term');
    s.start();
    await until(() => s.live() === undefined);
    const pid = s.pid();
    const t0 = Date.now();
    await s.drainAndStop();
    running.pop();
    assert.ok(Date.now() - t0 >= 300 + 500 - 20, 'drain then grace');
    assert.equal(of('SIGTERM').length, 1);
    assert.throws(() => process.kill(pid!, 0), /ESRCH/, 'the process is gone');
  });

  it('reports a binary that cannot start as an exit and keeps retrying', async () => {
    const exits: number[] = [];
    const s = supervisor('', {
      binaryPath: join(dir, 'no-such-envoy'),
      onExit: () => exits.push(1),
    });
    s.start();
    await until(() => exits.length >= 2);
    assert.match(s.live() ?? '', /not running/);
  });
});
