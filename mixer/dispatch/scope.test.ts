import assert from 'node:assert/strict';
import type { Value } from '../../lib/mixer/value.ts';
import { BagReader } from '../expr/reader.ts';
import { destinationNamespace } from './scope.ts';

describe('mixer rule scope: the destination namespace', () => {
  const of = (attrs: [string, Value][]) => destinationNamespace(new BagReader(new Map(attrs)));
  const cases: [string, string | undefined][] = [
    ['reviews.default.svc.cluster.local', 'default'],
    ['reviews.prod', 'prod'],
    ['reviews.', ''],
    ['reviews..svc', ''],
    ['.x.y', 'x'],
    ['reviews', undefined],
    ['', undefined],
  ];
  for (const [svc, want] of cases) {
    it(`destination.service ${JSON.stringify(svc)} is in ${String(want)}`, () => {
      assert.equal(of([['destination.service', svc]]), want);
      // As splitting on dots gives it.
      const parts = svc.split('.');
      assert.equal(want, parts.length >= 2 ? parts[1] : undefined);
    });
  }

  it('destination.namespace wins when set; absent attributes are no namespace', () => {
    assert.equal(
      of([
        ['destination.namespace', 'ns1'],
        ['destination.service', 'a.b.svc'],
      ]),
      'ns1',
    );
    assert.equal(
      of([
        ['destination.namespace', ''],
        ['destination.service', 'a.b.svc'],
      ]),
      'b',
    );
    assert.equal(of([]), undefined);
  });
});
