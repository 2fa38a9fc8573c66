import assert from 'node:assert/strict';
import type { KubernetesObject } from '@kubernetes/client-node';
import { ObjectStore, backoffDelay, objectKey, type StoreChange } from './object-store.ts';

const obj = (name: string, rv: string, namespace?: string): KubernetesObject => ({
  metadata: { name, resourceVersion: rv, ...(namespace === undefined ? {} : { namespace }) },
});

const summary = (changes: readonly StoreChange<KubernetesObject>[]) =>
  changes.map(
    (c) => `${c.type} ${c.obj.metadata?.name ?? ''}@${c.obj.metadata?.resourceVersion ?? ''}`,
  );

describe('informer object store', () => {
  it('keys cluster-scoped objects by name and namespaced ones by namespace/name', () => {
    assert.equal(objectKey(undefined, 'a'), 'a');
    assert.equal(objectKey('', 'a'), 'a');
    assert.equal(objectKey('ns', 'a'), 'ns/a');
  });

  it('replace: adds, updates what changed version, deletes what is missing', () => {
    const s = new ObjectStore<KubernetesObject>();
    assert.deepEqual(summary(s.replace([obj('a', '1'), obj('b', '1', 'ns')])), [
      'add a@1',
      'add b@1',
    ]);
    assert.deepEqual(summary(s.replace([obj('a', '1'), obj('b', '2', 'ns'), obj('c', '3')])), [
      'update b@2',
      'add c@3',
    ]);
    assert.deepEqual(summary(s.replace([obj('c', '3')])), ['delete a@1', 'delete b@2']);
    assert.equal(s.size, 1);
    assert.equal(s.get(undefined, 'c')?.metadata?.resourceVersion, '3');
  });

  it('replace gives the old object with an update', () => {
    const s = new ObjectStore<KubernetesObject>();
    s.replace([obj('a', '1')]);
    const [c] = s.replace([obj('a', '2')]);
    assert.ok(c?.type === 'update');
    assert.equal(c.old.metadata?.resourceVersion, '1');
  });

  const applyCases: {
    name: string;
    start: KubernetesObject[];
    type: 'ADDED' | 'MODIFIED' | 'DELETED';
    event: KubernetesObject;
    want: string[];
  }[] = [
    {
      name: 'ADDED of a new object',
      start: [],
      type: 'ADDED',
      event: obj('a', '1'),
      want: ['add a@1'],
    },
    {
      name: 'MODIFIED of an unknown object is an add',
      start: [],
      type: 'MODIFIED',
      event: obj('a', '2'),
      want: ['add a@2'],
    },
    {
      name: 'MODIFIED with a new version',
      start: [obj('a', '1')],
      type: 'MODIFIED',
      event: obj('a', '2'),
      want: ['update a@2'],
    },
    {
      name: 'a replayed version is no change',
      start: [obj('a', '1')],
      type: 'ADDED',
      event: obj('a', '1'),
      want: [],
    },
    {
      name: 'DELETED of a known object',
      start: [obj('a', '1')],
      type: 'DELETED',
      event: obj('a', '2'),
      want: ['delete a@2'],
    },
    {
      name: 'DELETED of an unknown object is no change',
      start: [],
      type: 'DELETED',
      event: obj('a', '2'),
      want: [],
    },
    {
      name: 'same name, other namespace',
      start: [obj('a', '1', 'x')],
      type: 'ADDED',
      event: obj('a', '1', 'y'),
      want: ['add a@1'],
    },
  ];
  for (const c of applyCases) {
    it(`apply: ${c.name}`, () => {
      const s = new ObjectStore<KubernetesObject>();
      s.replace(c.start);
      const change = s.apply(c.type, c.event);
      assert.deepEqual(summary(change === undefined ? [] : [change]), c.want);
    });
  }
});

describe('watch restart backoff', () => {
  const opts = { initialMs: 250, maxMs: 30_000 };
  it('doubles from the initial delay and stops at the cap', () => {
    const mid = (a: number) => backoffDelay(a, opts, 0.5); // no jitter at random 0.5
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 9].map(mid),
      [250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000],
    );
    assert.equal(mid(1000), 30_000);
  });
  it('jitters by ±20% and never exceeds the cap', () => {
    assert.equal(backoffDelay(1, opts, 0), 200);
    assert.equal(backoffDelay(1, opts, 0.999999), 300);
    assert.equal(backoffDelay(20, opts, 0.999999), 30_000);
  });
});
