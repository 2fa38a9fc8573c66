import assert from 'node:assert/strict';
import type { AttributeRef } from '../../lib/mixer/referenced.ts';
import { IpAddress, type Value } from '../../lib/mixer/value.ts';
import { Condition } from '../../lib/mixer/wire.ts';
import { partsFor, ValueTrie } from './check-keys.ts';

const EXACT = Condition.EXACT;
const bag = (o: Record<string, Value>) => new Map(Object.entries(o));

describe("agent/mixer check keys: a shape's entries by the request's values", () => {
  const refs: AttributeRef[] = [
    { name: 'source.ip', condition: EXACT },
    { name: 'source.labels', mapKey: 'app', condition: EXACT },
    { name: 'request.size', condition: EXACT },
    { name: 'source.user', condition: Condition.ABSENCE },
  ];
  const request = (ip: string, app: string, size: Value) =>
    bag({
      'source.ip': IpAddress.parse(ip) ?? '',
      'source.labels': new Map([['app', app]]),
      'request.size': size,
    });

  it('finds an entry by equal values (another address instance, another map), not by look-alikes', () => {
    const t = new ValueTrie<{ n: number }>();
    const parts = partsFor(refs, request('10.0.0.1', 'reviews', 1));
    assert.ok(parts);
    const e = { n: 1 };
    t.set(parts, e);
    assert.equal(t.find(refs, request('10.0.0.1', 'reviews', 1)), e);
    assert.equal(t.find(refs, request('::ffff:10.0.0.1', 'reviews', 1)), e);
    assert.equal(t.find(refs, request('10.0.0.1', 'reviews', '1')), undefined);
    assert.equal(t.find(refs, request('10.0.0.2', 'reviews', 1)), undefined);
    const withUser = request('10.0.0.1', 'reviews', 1).set('source.user', 'u');
    assert.equal(t.find(refs, withUser), undefined);
    assert.equal(partsFor(refs, withUser), undefined);
    assert.equal(t.size, 1);
  });

  it('removes only the entry it was given, and the levels left empty', () => {
    const t = new ValueTrie<{ n: number }>();
    const a = partsFor(refs, request('10.0.0.1', 'reviews', 1)) ?? [];
    const b = partsFor(refs, request('10.0.0.1', 'ratings', 1)) ?? [];
    const ea = { n: 1 };
    const eb = { n: 2 };
    t.set(a, ea);
    t.set(b, eb);
    assert.equal(t.delete(a, eb), false);
    assert.equal(t.delete(a, ea), true);
    assert.equal(t.find(refs, request('10.0.0.1', 'reviews', 1)), undefined);
    assert.equal(t.find(refs, request('10.0.0.1', 'ratings', 1)), eb);
    assert.equal(t.delete(b, eb), true);
    assert.equal(t.size, 0);
  });

  it('keeps one entry for a shape that references nothing', () => {
    const t = new ValueTrie<{ n: number }>();
    const e = { n: 3 };
    t.set([], e);
    assert.equal(t.find([], bag({ anything: 'x' })), e);
    assert.equal(t.get([]), e);
    assert.equal(t.delete([], e), true);
    assert.equal(t.find([], bag({})), undefined);
  });
});
