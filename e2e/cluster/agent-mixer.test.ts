/**
 * The agent's Mixer client against the real Mixer (mixer/testing, in-process, with the
 * mixer/examples config: deny, whitelist, rate limit, telemetry). Envoy's side is a real gRPC client speaking
 * ext_authz and ALS to the agent's MIXER socket. Decisions are compared with a second Mixer of
 * the same config asked directly (uncached), request by request.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { authzAttributes } from '../../lib/mixer/authz-wire.ts';
import { createMixerClient } from '../../agent/mixer/mixer-client.ts';
import type { RunningAgent } from '../../agent/run.ts';
import { startMixerAgent } from '../../agent/testing/mixer-agent.ts';
import {
  EnvoyMixerClient,
  checkRequest,
  httpLogMessage,
  type HttpCheck,
} from '../../agent/testing/envoy-mixer-client.ts';
import { startTestMixer, type TestMixer } from '../../mixer/testing/server.ts';
import { eventually } from './eventually.ts';
import { freePort } from '../../lib/free-ports.ts';

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });
const env = { POD_NAME: 'productpage-1', POD_NAMESPACE: 'default', INSTANCE_IP: '127.0.0.1' };

function metric(text: string, name: string, labels = ''): number {
  const re = new RegExp(`^${name}${labels.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm');
  const m = re.exec(text);
  return m ? Number(m[1]) : 0;
}

/** A request from <app> <version> to <dest>, with the labels Envoy cannot see as context. */
function call(app: string, version: string, dest: string, path: string): HttpCheck {
  return {
    path,
    host: `${dest}:9080`,
    context: {
      'source.labels.app': app,
      'source.labels.version': version,
      'destination.labels.app': dest,
      'destination.service': `${dest}.default.svc.cluster.local`,
    },
  };
}

describe('agent Mixer client with the real Mixer', function () {
  this.timeout(60_000);
  let root: string;
  const mixers: TestMixer[] = [];
  const agents: RunningAgent[] = [];
  const clients: EnvoyMixerClient[] = [];
  let viaAgent: TestMixer;
  let direct: TestMixer;

  async function agent(
    name: string,
    flags: Record<string, string>,
    extra: { quotas?: Map<string, number>; reportDelayMs?: number } = {},
  ) {
    const { agent: running, socket } = await startMixerAgent({
      dir: join(root, name),
      logger,
      flags,
      env,
      ...extra,
    });
    agents.push(running);
    const client = new EnvoyMixerClient(socket);
    clients.push(client);
    return { running, client };
  }

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'agent-mixer-'));
    viaAgent = await startTestMixer();
    direct = await startTestMixer();
    mixers.push(viaAgent, direct);
  });

  after(async () => {
    for (const c of clients) c.close();
    for (const a of agents) await a.shutdown('test over');
    for (const m of mixers) await m.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('decides as uncached Mixer does, and answers over 90% of a repeated workload from its cache', async () => {
    const { running, client } = await agent('cache', { mixerAddress: viaAgent.address });
    const straight = new EnvoyMixerClient(direct.address);
    clients.push(straight);
    const callers = [
      ['reviews', 'v1'],
      ['reviews', 'v2'],
      ['reviews', 'v3'],
      ['productpage', 'v1'],
      ['productpage', 'v9'],
    ] as const;
    const workload: HttpCheck[] = [];
    for (let round = 0; round < 20; round++) {
      for (const [app, version] of callers) {
        for (const dest of ['ratings', 'details'])
          workload.push(call(app, version, dest, `/${dest}/${round % 5}`));
      }
    }
    const seen = new Map<string, number>();
    for (const req of workload) {
      const [a, b] = await Promise.all([client.check(req), straight.check(req)]);
      assert.equal(
        a.code,
        b.code,
        `${JSON.stringify(req.context)}: agent ${a.code} ${a.message} vs Mixer ${b.code} ${b.message}`,
      );
      assert.equal(a.httpStatus, b.httpStatus);
      seen.set(`${a.code}`, (seen.get(`${a.code}`) ?? 0) + 1);
    }
    // The workload exercised the deny rule and the whitelist: reviews v3 and productpage v9
    // calling ratings are refused (20 rounds each), everything else is allowed.
    const allowed = seen.get('0') ?? 0;
    assert.equal(allowed, 160, JSON.stringify([...seen]));
    assert.equal(workload.length - allowed, 40);
    const text = await running.metrics.metrics();
    const count = (source: string) =>
      [...seen.keys()].reduce(
        (n, code) =>
          n + metric(text, 'istio_agent_mixer_checks_total', `{source="${source}",code="${code}"}`),
        0,
      );
    const fromCache = count('cache');
    const fromMixer = count('mixer');
    assert.equal(fromCache + fromMixer, workload.length);
    assert.ok(
      fromCache / workload.length >= 0.9,
      `cache answered ${fromCache} of ${workload.length}`,
    );
    // Entries near their end are renewed in the background (refresh ahead): those Checks reach
    // Mixer too, without being a miss.
    const refreshes = ['answered', 'failed'].reduce(
      (n, result) =>
        n + metric(text, 'istio_agent_mixer_cache_refreshes_total', `{result="${result}"}`),
      0,
    );
    const scraped = await viaAgent.scrape();
    const mixerChecks = [
      ...scraped.matchAll(/^mixer_check_total\{api="mixer",code="[A-Z_]+"\} (\d+)$/gm),
    ].reduce((n, m) => n + Number(m[1]), 0);
    assert.equal(
      mixerChecks,
      fromMixer + refreshes,
      'every miss and every renewal, and nothing else, reached Mixer',
    );
  });

  it('with quotas, every check goes to Mixer and decisions equal uncached ones (429 once exhausted)', async () => {
    const quotas = new Map([['requestcount', 1]]);
    const { client } = await agent('quota', { mixerAddress: viaAgent.address }, { quotas });
    const reference = createMixerClient(direct.address);
    try {
      const codes: number[] = [];
      for (let i = 0; i < 8; i++) {
        const req = call('reviews', 'v1', 'ratings', '/ratings/0');
        const a = await client.check(req);
        const bag = authzAttributes(checkRequest(req)).bag;
        const b = await reference.check(bag, quotas, 2000);
        assert.equal(
          a.code,
          b.status.code,
          `request ${i}: agent ${a.message} vs Mixer ${b.status.message}`,
        );
        if (a.code === 8) assert.equal(a.httpStatus, 'TooManyRequests');
        codes.push(a.code);
      }
      // ratings allows 5 per 10 s (mixer/examples/ratelimit.yaml).
      assert.deepEqual(codes, [0, 0, 0, 0, 0, 8, 8, 8]);
    } finally {
      reference.close();
    }
  });

  it('batches access logs into Reports and flushes them all on shutdown', async () => {
    const { running, client } = await agent(
      'reports',
      { mixerAddress: viaAgent.address },
      { reportDelayMs: 60_000 },
    );
    const before = metric(
      await viaAgent.scrape(),
      'mixer_report_attribute_sets_total',
      '{api="mixer"}',
    );
    // 2,500 entries in 5 messages: two full batches of 1,000 go at once, 500 wait (60 s delay).
    await client.accessLogs([0, 1, 2, 3, 4].map((i) => httpLogMessage(500, i * 500, i === 0)));
    await eventually(async () => {
      assert.equal(
        metric(await viaAgent.scrape(), 'mixer_report_attribute_sets_total', '{api="mixer"}') -
          before,
        2000,
      );
    });
    const mine = await running.metrics.metrics();
    assert.equal(
      metric(mine, 'istio_agent_mixer_reports_total', '{result="ok"}'),
      2,
      'one Report per 1,000 entries',
    );
    assert.equal(running.batcher?.waiting, 500);
    await running.shutdown('SIGTERM');
    assert.equal(
      metric(await viaAgent.scrape(), 'mixer_report_attribute_sets_total', '{api="mixer"}') -
        before,
      2500,
      'nothing lost across shutdown',
    );
  });

  it('fails open, or closed, when Mixer is unreachable', async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const open = await agent('open', { mixerAddress: dead, mixerCheckTimeout: '300ms' });
    const closed = await agent('closed', {
      mixerAddress: dead,
      mixerFailOpen: 'false',
      mixerCheckTimeout: '300ms',
    });
    const req = call('reviews', 'v3', 'ratings', '/x');
    assert.equal((await open.client.check(req)).code, 0, 'fail open allows');
    const c = await closed.client.check(req);
    assert.equal(c.code, 14);
    assert.equal(c.httpStatus, 'ServiceUnavailable');
    assert.match(c.message, /Mixer unreachable/);
  });
});
