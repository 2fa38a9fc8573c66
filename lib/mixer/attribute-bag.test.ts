import assert from 'node:assert/strict';
import { AttributeBag, attributeName } from './attribute-bag.ts';
import { encodeCheckRequest } from './check-request-wire.ts';
import { IpAddress, type Value } from './value.ts';

describe('lib/mixer/attribute-bag', () => {
  it('reads, writes, replaces and deletes by name as a Map does', () => {
    const bag = new AttributeBag();
    const m = new Map<string, Value>();
    const ops: [string, Value | undefined][] = [
      ['request.path', '/a'],
      ['source.ip', IpAddress.parse('10.0.0.1')],
      ['request.size', 0],
      ['connection.mtls', false],
      ['request.path', '/b'],
      ['request.size', undefined],
      ['request.headers', new Map([['x', '1']])],
      ['request.size', 7],
    ];
    for (const [k, v] of ops) {
      if (v === undefined) assert.equal(bag.delete(k), m.delete(k));
      else {
        assert.equal(bag.set(k, v), bag);
        m.set(k, v);
      }
      assert.equal(bag.size, m.size);
      assert.deepEqual(bag.toMap(), m);
    }
    assert.equal(bag.delete('request.size'), true);
    assert.equal(bag.delete('request.size'), false);
    assert.equal(bag.delete('never.set'), false);
    assert.equal(bag.get('never.set'), undefined);
    assert.equal(bag.has('request.path'), true);
    assert.equal(bag.has('request.size'), false);
    // Falsy values are present, not absent.
    assert.equal(bag.get('connection.mtls'), false);
    assert.equal(bag.has('connection.mtls'), true);
  });

  it('iterates as a Map: entries, keys, values, forEach and spread', () => {
    const bag = new AttributeBag().set('a.one', 1).set('a.two', 'two');
    assert.deepEqual(
      new Map(bag),
      new Map<string, Value>([
        ['a.one', 1],
        ['a.two', 'two'],
      ]),
    );
    assert.deepEqual([...bag.keys()].sort(), ['a.one', 'a.two']);
    assert.deepEqual([...bag.values()].sort(), [1, 'two']);
    const seen: string[] = [];
    bag.forEach((v, k, b) => {
      assert.equal(b, bag);
      seen.push(`${k}=${JSON.stringify(v)}`);
    });
    assert.deepEqual(seen.sort(), ['a.one=1', 'a.two="two"']);
  });

  it('keeps names past its slots in a map of its own, and a bag made before a name had a slot reads it', () => {
    const early = new AttributeBag();
    const names = Array.from({ length: 300 }, (_, i) => `bag.test.name${String(i)}`);
    const late = new AttributeBag();
    names.forEach((n, i) => late.set(n, i));
    names.forEach((n, i) => early.set(n, i * 2));
    assert.equal(late.size, 300);
    assert.equal(early.size, 300);
    names.forEach((n, i) => {
      assert.equal(late.get(n), i);
      assert.equal(early.get(n), i * 2);
    });
    assert.equal(late.delete('bag.test.name299'), true);
    assert.equal(late.has('bag.test.name299'), false);
    assert.equal(late.size, 299);
    assert.equal(late.toMap().size, 299);
  });

  it('is encoded for Mixer as the same attributes in a Map are', () => {
    const bag = new AttributeBag()
      .set('destination.service', 'ratings.default.svc.cluster.local')
      .set('request.size', 3)
      .set('source.labels', new Map([['app', 'reviews']]));
    const viaMap = encodeCheckRequest(bag.toMap(), new Map(), 'dedup-1');
    assert.deepEqual(
      Buffer.from(encodeCheckRequest(bag, new Map(), 'dedup-1')),
      Buffer.from(viaMap),
    );
  });
  it('sets and reads a name resolved once (put, at) as set and get do, past the slots too', () => {
    const path = attributeName('request.path');
    const bag = new AttributeBag().put(path, '/a').set('request.method', 'GET');
    assert.equal(bag.get('request.path'), '/a');
    assert.equal(bag.at(path), '/a');
    assert.equal(bag.size, 2);
    bag.put(path, '/b');
    assert.equal(bag.size, 2, 'a second put replaces');
    assert.equal(bag.get('request.path'), '/b');
    // Resolved after every slot was taken: kept by name.
    for (let i = 0; i < 200; i++) attributeName(`bag.test.fill${String(i)}`);
    const late = attributeName('bag.test.resolved-late');
    assert.equal(late.slot, undefined);
    bag.put(late, 7);
    assert.equal(bag.get('bag.test.resolved-late'), 7);
    assert.equal(bag.at(late), 7);
    assert.equal(bag.size, 3);
  });
});
