import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createRegistry } from '../../lib/metrics.ts';
import { decompressReport } from '../../lib/mixer/decompress.ts';
import { encodeReferenced } from '../../lib/mixer/referenced.ts';
import type { Value } from '../../lib/mixer/value.ts';
import { Condition, type ReportRequestMessage } from '../../lib/mixer/wire.ts';
import { CheckCache } from './check-cache.ts';
import { Checker } from './checker.ts';
import type { MixerApi, MixerCheckResult } from './mixer-client.ts';
import { ReportBatcher } from './report-batcher.ts';

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });

/** A Mixer stand-in (the MixerApi interface is the agent's own): counts calls, can be down. */
class FakeMixer implements MixerApi {
  checks = 0;
  down = false;
  reports: ReportRequestMessage[] = [];
  failNextReports = 0;
  async check(bag: ReadonlyMap<string, Value>): Promise<MixerCheckResult> {
    await Promise.resolve();
    if (this.down) throw new Error('14 UNAVAILABLE: connection refused');
    this.checks++;
    const denied = bag.get('source.name') === 'mallory';
    return {
      status: { code: denied ? 7 : 0, message: denied ? 'denied' : '' },
      validMs: 10_000,
      validUseCount: 200,
      referenced: encodeReferenced([{ name: 'source.name', condition: Condition.EXACT }]),
      quotas: new Map(),
    };
  }
  async report(r: ReportRequestMessage): Promise<void> {
    await Promise.resolve();
    if (this.failNextReports > 0) {
      this.failNextReports--;
      throw new Error('14 UNAVAILABLE');
    }
    this.reports.push(r);
  }
  close(): void {
    // nothing to close
  }
}

/** `leadMs` 0: renewals at the last quarter of uses only, whatever the rate (check-cache.ts). */
function checker(
  mixer: FakeMixer,
  o: { failOpen?: boolean; quotas?: Map<string, number>; leadMs?: number } = {},
): Checker {
  return new Checker({
    mixer,
    cache: new CheckCache(o.leadMs === undefined ? {} : { leadMs: o.leadMs }),
    failOpen: o.failOpen ?? true,
    timeoutMs: 100,
    quotas: o.quotas ?? new Map(),
    logger,
    metrics: createRegistry('agent', false),
  });
}

const bag = (name: string) =>
  new Map<string, Value>([
    ['source.name', name],
    ['request.path', `/${name}`],
  ]);

describe('checker: cache first, then Mixer, fail open or closed', () => {
  it('answers repeated checks from the cache', async () => {
    const m = new FakeMixer();
    const c = checker(m);
    assert.deepEqual(await c.check(bag('alice')), { code: 0, message: '', source: 'mixer' });
    assert.deepEqual(await c.check(bag('alice')), { code: 0, message: '', source: 'cache' });
    assert.deepEqual(await c.check(bag('mallory')), {
      code: 7,
      message: 'denied',
      source: 'mixer',
    });
    assert.deepEqual(await c.check(bag('mallory')), {
      code: 7,
      message: 'denied',
      source: 'cache',
    });
    assert.equal(m.checks, 2);
  });

  it('answers a warm cache at once (cached), and leaves misses and quota checks to check()', async () => {
    const m = new FakeMixer();
    const c = checker(m);
    assert.equal(c.cached(bag('alice')), undefined, 'a miss');
    await c.check(bag('alice'));
    assert.deepEqual(c.cached(bag('alice')), { code: 0, message: '' });
    assert.equal(m.checks, 1);
    const q = checker(m, { quotas: new Map([['RequestCount', 1]]) });
    await q.check(bag('alice'));
    assert.equal(q.cached(bag('alice')), undefined, 'quota checks always go to Mixer');
  });

  it('renews a busy entry before it runs out: concurrent checks never all go to Mixer', async () => {
    const m = new FakeMixer();
    const c = checker(m, { leadMs: 0 });
    assert.equal((await c.check(bag('alice'))).source, 'mixer');
    const sources: string[] = [];
    // 640 checks, 32 at a time, against answers good for 200 uses each.
    for (let round = 0; round < 20; round++) {
      const batch = await Promise.all(Array.from({ length: 32 }, () => c.check(bag('alice'))));
      sources.push(...batch.map((d) => d.source));
    }
    assert.deepEqual(new Set(sources), new Set(['cache']), 'every check from the cache');
    // The first answer and one renewal per ~150 uses, not a call per check in flight at the end.
    assert.ok(m.checks >= 4 && m.checks <= 6, `${String(m.checks)} Mixer calls`);
  });

  it('sends the checks that find their entry spent while it is renewed to that renewal, not Mixer', async () => {
    const m = new FakeMixer();
    const c = checker(m, { leadMs: 0 });
    await c.check(bag('alice'));
    // 199 uses left; renewal due at 50 left. A slow Mixer from now on: its answer lands late.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const inner = m.check.bind(m);
    m.check = async (b) => {
      await gate;
      return inner(b);
    };
    for (let i = 0; i < 199; i++) assert.equal(c.cached(bag('alice'))?.code, 0);
    assert.equal(m.checks, 1, 'the renewal is still on its way');
    // The entry is spent: 100 checks arrive; they wait for the renewal instead of calling Mixer.
    const late = Promise.all(Array.from({ length: 100 }, () => c.check(bag('alice'))));
    await new Promise((r) => setTimeout(r, 10));
    release();
    const sources = (await late).map((d) => d.source);
    assert.deepEqual(new Set(sources), new Set(['cache']));
    assert.equal(m.checks, 2, 'one Mixer call for the renewal, none for the 100');
  });

  it('renews a busy entry its Mixer deadline of use ahead: checks stop waiting on a slow Mixer', async () => {
    // The cache's clock is the test's; Mixer answers when the test says, 5 ms of that clock late.
    const run = async (leadMs: number) => {
      const m = new FakeMixer();
      const held: (() => void)[] = [];
      const inner = m.check.bind(m);
      m.check = async (b) => {
        await new Promise<void>((r) => held.push(r));
        return inner(b);
      };
      let now = 0;
      const c = new Checker({
        mixer: m,
        cache: new CheckCache({ now: () => now, leadMs }),
        failOpen: true,
        timeoutMs: 100,
        quotas: new Map(),
        logger,
        metrics: createRegistry('agent', false),
      });
      const first = c.check(bag('alice'));
      for (const r of held.splice(0)) r();
      await first;
      // 25 checks a millisecond for 300 ms: a round trip is worth 125 uses, more than the
      // quarter of 200 that renewals start at when the rate is not known.
      let missed = 0;
      for (let ms = 1; ms <= 300; ms++) {
        now = ms;
        for (let i = 0; i < 25; i++) if (c.cached(bag('alice')) === undefined && ms > 20) missed++;
        if (ms % 5 === 0) {
          for (const r of held.splice(0)) r();
          await new Promise((r) => setImmediate(r));
        }
      }
      return { missed, calls: m.checks };
    };
    const ahead = await run(1000);
    assert.equal(ahead.missed, 0, 'once the entry knows its rate, no check waits for Mixer');
    // One renewal at a time: at most one a round trip (60), and each still pays for 199 uses.
    assert.ok(ahead.calls <= 61, `${String(ahead.calls)} Mixer calls`);
    const quarter = await run(0);
    assert.ok(
      quarter.missed > 500,
      `renewing at the last quarter: ${String(quarter.missed)} waits`,
    );
    assert.ok(quarter.calls <= ahead.calls);
  });

  it("sends a burst of new requests to Mixer once: they wait for the first one's answer", async () => {
    const m = new FakeMixer();
    let attempts = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const inner = m.check.bind(m);
    m.check = async (b) => {
      attempts++;
      await gate;
      return inner(b);
    };
    const c = checker(m);
    const burst = Promise.all(Array.from({ length: 100 }, () => c.check(bag('alice'))));
    await new Promise((r) => setTimeout(r, 10));
    release();
    const sources = (await burst).map((d) => d.source);
    assert.equal(attempts, 16, '16 Mixer calls for 100 checks');
    assert.equal(sources.filter((s) => s === 'mixer').length, 16);
    assert.equal(sources.filter((s) => s === 'cache').length, 84);
    // With nothing on its way, a request unlike the others goes to Mixer at once.
    assert.equal((await c.check(bag('bob'))).source, 'mixer');
    assert.equal(attempts, 17);
  });

  it('gives a burst the same fail-open answer when the calls it waited for could not reach Mixer', async () => {
    const m = new FakeMixer();
    m.down = true;
    let attempts = 0;
    const inner = m.check.bind(m);
    m.check = async (b) => {
      attempts++;
      await new Promise((r) => setTimeout(r, 20));
      return inner(b);
    };
    const c = checker(m);
    const sources = (
      await Promise.all(Array.from({ length: 50 }, () => c.check(bag('alice'))))
    ).map((d) => d.source);
    assert.deepEqual(new Set(sources), new Set(['fail-open']));
    assert.equal(attempts, 16, 'the other 34 did not wait for a turn to time out');
  });

  it('fails open or closed when Mixer is down, and caches neither', async () => {
    const m = new FakeMixer();
    m.down = true;
    const open = checker(m, { failOpen: true });
    assert.equal((await open.check(bag('bob'))).source, 'fail-open');
    const closed = checker(m, { failOpen: false });
    const d = await closed.check(bag('bob'));
    assert.equal(d.source, 'fail-closed');
    assert.equal(d.code, 14);
    assert.match(d.message, /Mixer unreachable/);
    m.down = false;
    assert.equal((await closed.check(bag('bob'))).source, 'mixer', 'the failure was not cached');
  });

  it('never answers a quota-consuming check from the cache', async () => {
    const m = new FakeMixer();
    const c = checker(m, { quotas: new Map([['RequestCount', 1]]) });
    await c.check(bag('alice'));
    assert.equal((await c.check(bag('alice'))).source, 'mixer');
    assert.equal(m.checks, 2);
  });
});

describe('report batcher', () => {
  const sets = (n: number, from = 0) =>
    Array.from(
      { length: n },
      (_, i) =>
        new Map<string, Value>([
          ['request.path', `/p${i + from}`],
          ['response.code', 200],
          ['destination.service', 'reviews'],
        ]),
    );

  function batcher(m: FakeMixer, maxDelayMs = 50): ReportBatcher {
    return new ReportBatcher({
      mixer: m,
      logger,
      metrics: createRegistry('agent', false),
      maxDelayMs,
    });
  }

  const reported = (m: FakeMixer) => m.reports.flatMap((r) => decompressReport(r));

  it('sends 1,000 sets at once, delta-encoded, and the rest after the delay', async () => {
    const m = new FakeMixer();
    const b = batcher(m, 200);
    const all = sets(1500);
    for (const s of all) b.add(s);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(m.reports.length, 1, 'the first 1,000 went without waiting');
    const first = m.reports[0]!;
    assert.equal(first.attributes.length, 1000);
    // Delta encoding: after the first entry, unchanged attributes are left out.
    assert.deepEqual(first.attributes[1]!.int64s, {});
    assert.equal(Object.keys(first.attributes[0]!.int64s ?? {}).length, 1);
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(m.reports.length, 2);
    assert.deepEqual(reported(m), all);
    b.close();
  });

  it('retries a failed Report without reporting anything twice', async () => {
    const m = new FakeMixer();
    m.failNextReports = 2;
    const b = batcher(m, 20);
    const all = sets(10);
    for (const s of all) b.add(s);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(reported(m), all);
    assert.equal(b.waiting, 0);
    b.close();
  });

  it('drain sends everything before shutdown', async () => {
    const m = new FakeMixer();
    const b = batcher(m, 60_000);
    const all = sets(5);
    for (const s of all) b.add(s);
    assert.equal(m.reports.length, 0);
    assert.equal(await b.drain(1000), 0);
    assert.deepEqual(reported(m), all);
  });
});
