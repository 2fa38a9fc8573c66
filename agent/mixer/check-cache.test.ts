import assert from 'node:assert/strict';
import { encodeReferenced, type AttributeRef } from '../../lib/mixer/referenced.ts';
import { IpAddress, type Value } from '../../lib/mixer/value.ts';
import { Condition, type ReferencedAttributesMessage } from '../../lib/mixer/wire.ts';
import { CheckCache, type Cacheable } from './check-cache.ts';

const EXACT = Condition.EXACT;
const ABSENCE = Condition.ABSENCE;

function bag(o: Record<string, Value>): Map<string, Value> {
  return new Map(Object.entries(o));
}

function answer(refs: AttributeRef[], code = 0, validMs = 10_000, uses = 200): Cacheable {
  return {
    status: { code, message: code === 0 ? '' : 'denied' },
    validMs,
    validUseCount: uses,
    referenced: encodeReferenced(refs),
  };
}

const base = {
  'source.name': 'productpage',
  'destination.service': 'reviews.shop.svc.cluster.local',
  'request.path': '/reviews/1',
  'request.headers': new Map([
    ['user-agent', 'curl'],
    ['x-user', 'jason'],
  ]),
  'source.ip': IpAddress.parse('10.1.0.1')!,
};

/** Whether a lookup asked for a renewal (undefined: a miss or a wait). */
function refreshOf(h: ReturnType<CheckCache['lookup']>): boolean | undefined {
  return h !== undefined && 'renew' in h ? h.renew !== undefined : undefined;
}

describe('check cache (referenced attributes)', () => {
  const cases: {
    name: string;
    refs: AttributeRef[];
    second: Record<string, Value>;
    hit: boolean;
  }[] = [
    {
      name: 'equal referenced values hit, whatever else differs',
      refs: [
        { name: 'source.name', condition: EXACT },
        { name: 'destination.service', condition: EXACT },
      ],
      second: { ...base, 'request.path': '/other' },
      hit: true,
    },
    {
      name: 'a different referenced value misses',
      refs: [{ name: 'source.name', condition: EXACT }],
      second: { ...base, 'source.name': 'ratings' },
      hit: false,
    },
    {
      name: 'an absent attribute must stay absent',
      refs: [
        { name: 'source.user', condition: ABSENCE },
        { name: 'source.name', condition: EXACT },
      ],
      second: { ...base, 'source.user': 'jason' },
      hit: false,
    },
    {
      name: 'an absent attribute still absent hits',
      refs: [{ name: 'source.user', condition: ABSENCE }],
      second: { ...base, 'source.name': 'anything' },
      hit: true,
    },
    {
      name: 'one map key referenced: other keys may differ',
      refs: [{ name: 'request.headers', mapKey: 'x-user', condition: EXACT }],
      second: {
        ...base,
        'request.headers': new Map([
          ['x-user', 'jason'],
          ['user-agent', 'wget'],
        ]),
      },
      hit: true,
    },
    {
      name: 'one map key referenced: that key differs',
      refs: [{ name: 'request.headers', mapKey: 'x-user', condition: EXACT }],
      second: { ...base, 'request.headers': new Map([['x-user', 'mallory']]) },
      hit: false,
    },
    {
      name: 'a map key that must be absent appears',
      refs: [{ name: 'request.headers', mapKey: 'x-debug', condition: ABSENCE }],
      second: { ...base, 'request.headers': new Map([['x-debug', '1']]) },
      hit: false,
    },
    {
      name: 'IP addresses compare by value',
      refs: [{ name: 'source.ip', condition: EXACT }],
      second: { ...base, 'source.ip': IpAddress.parse('::ffff:10.1.0.1')! },
      hit: true,
    },
    {
      name: 'no attribute referenced: every request hits',
      refs: [],
      second: { 'request.path': '/x' },
      hit: true,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const cache = new CheckCache();
      assert.equal(cache.lookup(bag(base)), undefined);
      assert.equal(cache.insert(bag(base), answer(c.refs, 7)), 'cached');
      const got = cache.lookup(bag(c.second));
      if (c.hit)
        assert.deepEqual(got && 'status' in got ? got.status : got, { code: 7, message: 'denied' });
      else assert.equal(got, undefined);
    });
  }

  it('expires after valid_duration', () => {
    let now = 1000;
    const cache = new CheckCache({ now: () => now });
    cache.insert(bag(base), answer([{ name: 'source.name', condition: EXACT }], 0, 500));
    now += 499;
    assert.ok(cache.lookup(bag(base)));
    now += 1;
    assert.equal(cache.lookup(bag(base)), undefined);
    assert.equal(cache.size, 0);
    assert.equal(cache.shapeCount, 0);
  });

  it('an expired entry whose shape goes with it does not hide the next shape from the lookup', () => {
    let now = 1000;
    const cache = new CheckCache({ now: () => now });
    // Two shapes, the first expiring sooner; the request fits both.
    cache.insert(bag(base), answer([{ name: 'source.name', condition: EXACT }], 7, 500));
    cache.insert(bag(base), answer([{ name: 'request.path', condition: EXACT }], 0, 5000));
    assert.equal(cache.shapeCount, 2);
    now += 600;
    const hit = cache.lookup(bag(base));
    assert.ok(hit !== undefined && 'status' in hit, 'the second shape answers');
    assert.equal(hit.status.code, 0);
    assert.equal(cache.shapeCount, 1);
    // A hit that renews nothing is the same object each time (no allocation a check).
    assert.equal(cache.lookup(bag(base)), hit);
  });

  it('spends valid_use_count (the request that asked Mixer used one)', () => {
    const cache = new CheckCache();
    cache.insert(bag(base), answer([{ name: 'source.name', condition: EXACT }], 0, 10_000, 3));
    assert.ok(cache.lookup(bag(base)));
    assert.ok(cache.lookup(bag(base)));
    assert.equal(cache.lookup(bag(base)), undefined);
  });

  it('asks for one refresh when an entry is down to its last quarter of uses', () => {
    const cache = new CheckCache();
    cache.insert(bag(base), answer([{ name: 'source.name', condition: EXACT }], 0, 10_000, 20));
    // 19 uses left after the insert; the refresh is due at 5 left, after 14 lookups.
    const flags = Array.from({ length: 19 }, () => refreshOf(cache.lookup(bag(base))));
    assert.deepEqual(
      flags.map((f, i) => (f === true ? i : -1)).filter((i) => i >= 0),
      [13],
      'one lookup, the 14th, says to refresh',
    );
    assert.equal(cache.lookup(bag(base)), undefined, 'still runs out when nobody renewed it');
    // The renewed answer replaces the entry, which can be refreshed again.
    cache.insert(bag(base), answer([{ name: 'source.name', condition: EXACT }], 0, 10_000, 20));
    for (let i = 0; i < 13; i++) assert.equal(refreshOf(cache.lookup(bag(base))), false);
    assert.equal(refreshOf(cache.lookup(bag(base))), true);
  });

  it('starts renewing a busy entry when its uses left would last less than the lead', () => {
    let now = 0;
    const cache = new CheckCache({ now: () => now, leadMs: 100 });
    const ref = [{ name: 'source.name', condition: EXACT }];
    cache.insert(bag(base), answer(ref, 0, 10_000, 200));
    // 199 uses left and no rate known yet: the refresh is due at the quarter, 50 left.
    now = 10;
    const flags = Array.from({ length: 149 }, () => refreshOf(cache.lookup(bag(base))));
    assert.equal(flags.indexOf(true), 148);
    // The answer lands: 149 uses in 10 ms, so 100 ms of use is 1,490 uses, more than the
    // 50 + 199 left: the very next hit asks again.
    cache.insert(bag(base), answer(ref, 0, 10_000, 200));
    assert.equal(refreshOf(cache.lookup(bag(base))), true);
    // Used slowly since (1 use in 1,000 ms), the next answer is back to the quarter.
    now = 1010;
    cache.insert(bag(base), answer(ref, 0, 10_000, 200));
    const slow = Array.from({ length: 600 }, () => refreshOf(cache.lookup(bag(base))));
    // 248 + 199 = 447 left: due at 50 left, the 397th lookup; then 50 more until spent.
    assert.equal(slow.indexOf(true), 396);
    assert.equal(slow.lastIndexOf(false), 446);
    assert.equal(slow[447], undefined, 'spent');
  });

  it('adds the uses of an answer with the same status to those left; another status replaces them', () => {
    const cache = new CheckCache();
    const ref = [{ name: 'source.name', condition: EXACT }];
    cache.insert(bag(base), answer(ref, 0, 10_000, 10));
    for (let i = 0; i < 3; i++) assert.ok(cache.lookup(bag(base)));
    cache.insert(bag(base), answer(ref, 0, 10_000, 10)); // 6 left + 9
    const codes = () => {
      const seen: number[] = [];
      for (
        let h = cache.lookup(bag(base));
        h !== undefined && 'status' in h;
        h = cache.lookup(bag(base))
      )
        seen.push(h.status.code);
      return seen;
    };
    assert.equal(codes().length, 15);
    cache.insert(bag(base), answer(ref, 0, 10_000, 10));
    cache.lookup(bag(base));
    cache.insert(bag(base), answer(ref, 7, 10_000, 10)); // denied now: 8 left of the grant go
    assert.deepEqual(
      codes(),
      Array.from({ length: 9 }, () => 7),
    );
  });

  it('keeps an entry that runs out while being renewed, for checks to wait on', async () => {
    const cache = new CheckCache();
    const ref = [{ name: 'source.name', condition: EXACT }];
    cache.insert(bag(base), answer(ref, 0, 10_000, 5));
    // 4 uses left; the refresh is due at 1 left (the 3rd lookup).
    const hits = [cache.lookup(bag(base)), cache.lookup(bag(base)), cache.lookup(bag(base))];
    const renew = hits[2] && 'renew' in hits[2] ? hits[2].renew : undefined;
    assert.ok(renew, 'the third lookup asks for a renewal');
    let land: () => void = () => undefined;
    renew(new Promise<void>((r) => (land = r)));
    assert.ok(cache.lookup(bag(base)), 'the last use');
    const waiting = cache.lookup(bag(base));
    assert.ok(waiting && 'wait' in waiting, 'spent while renewing: wait, not a miss');
    cache.insert(bag(base), answer(ref, 0, 10_000, 5));
    land();
    await waiting.wait;
    const after = cache.lookup(bag(base));
    assert.ok(after && 'status' in after, 'the renewed entry answers');
    // A renewal that fails (settles without an answer) lets the spent entry go: a miss.
    const c2 = new CheckCache();
    c2.insert(bag(base), answer(ref, 0, 10_000, 2));
    const h = c2.lookup(bag(base));
    const failed = Promise.resolve();
    if (h && 'renew' in h) h.renew?.(failed);
    assert.ok(c2.lookup(bag(base)) && 'wait' in (c2.lookup(bag(base)) ?? {}));
    await failed;
    await Promise.resolve();
    assert.equal(c2.lookup(bag(base)), undefined);
  });

  it('asks for one refresh in the last quarter of valid_duration', () => {
    let now = 0;
    const cache = new CheckCache({ now: () => now });
    cache.insert(bag(base), answer([{ name: 'source.name', condition: EXACT }], 0, 1000, 1000));
    now = 749;
    assert.equal(refreshOf(cache.lookup(bag(base))), false);
    now = 750;
    assert.equal(refreshOf(cache.lookup(bag(base))), true);
    assert.equal(refreshOf(cache.lookup(bag(base))), false, 'once');
  });

  it('does not cache an answer that used a regex match, or one usable once', () => {
    const cache = new CheckCache();
    const regex: ReferencedAttributesMessage = {
      words: ['request.path'],
      attribute_matches: [{ name: -1, condition: Condition.REGEX, regex: '^/admin' }],
    };
    assert.equal(cache.insert(bag(base), { ...answer([]), referenced: regex }), 'regex');
    assert.equal(cache.insert(bag(base), answer([], 0, 10_000, 1)), 'not-reusable');
    assert.equal(cache.insert(bag(base), answer([], 0, 0)), 'not-reusable');
    assert.equal(cache.lookup(bag(base)), undefined);
  });

  it('evicts the least recently used entry at capacity', () => {
    const cache = new CheckCache({ capacity: 3 });
    const refs: AttributeRef[] = [{ name: 'source.name', condition: EXACT }];
    for (const n of ['a', 'b', 'c']) cache.insert(bag({ 'source.name': n }), answer(refs));
    assert.ok(cache.lookup(bag({ 'source.name': 'a' }))); // a is now the most recent
    cache.insert(bag({ 'source.name': 'd' }), answer(refs));
    assert.equal(cache.size, 3);
    assert.equal(cache.lookup(bag({ 'source.name': 'b' })), undefined, 'b was the oldest');
    assert.ok(cache.lookup(bag({ 'source.name': 'a' })));
    assert.ok(cache.lookup(bag({ 'source.name': 'd' })));
  });

  it('passes over a hit entry once (CLOCK): it goes next time unless hit again', () => {
    const cache = new CheckCache({ capacity: 3 });
    const refs: AttributeRef[] = [{ name: 'source.name', condition: EXACT }];
    const name = (n: string) => bag({ 'source.name': n });
    for (const n of ['a', 'b', 'c']) cache.insert(name(n), answer(refs));
    for (const n of ['a', 'b', 'c']) assert.ok(cache.lookup(name(n)));
    // Every entry was hit: the pass unmarks them all and the oldest, a, goes.
    cache.insert(name('d'), answer(refs));
    assert.equal(cache.lookup(name('a')), undefined);
    // b and c were passed over and not hit since; d is new: b is the oldest unmarked.
    assert.ok(cache.lookup(name('c')));
    cache.insert(name('e'), answer(refs));
    assert.equal(cache.lookup(name('b')), undefined);
    for (const n of ['c', 'd', 'e']) assert.ok(cache.lookup(name(n)), n);
    assert.equal(cache.size, 3);
  });

  it('holds 10,000 entries by default', () => {
    const cache = new CheckCache();
    const refs: AttributeRef[] = [{ name: 'source.name', condition: EXACT }];
    for (let i = 0; i < 10_050; i++) cache.insert(bag({ 'source.name': `s${i}` }), answer(refs));
    assert.equal(cache.size, 10_000);
    assert.equal(cache.lookup(bag({ 'source.name': 's0' })), undefined);
    assert.ok(cache.lookup(bag({ 'source.name': 's10049' })));
  });
});
