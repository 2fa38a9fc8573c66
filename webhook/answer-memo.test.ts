import assert from 'node:assert/strict';
import { AnswerMemo, type MemoInputs } from './answer-memo.ts';

const config = { proxy: 'a' };
const mesh = { mtls: true };
const inputs = (over: Partial<MemoInputs> = {}): MemoInputs => ({
  namespace: 'shop',
  object: { kind: 'Pod', metadata: { generateName: 'web-' }, spec: { containers: [] } },
  config,
  mesh,
  namespaceLabels: { 'istio-injection': 'enabled' },
  kubernetesVersion: { major: 1, minor: 32 },
  ...over,
});

describe('the injector answer memo', () => {
  it('keeps no answer for pods that never repeat, only their keys, up to its limit', () => {
    const memo = new AnswerMemo<string>(4, 8);
    for (let n = 0; n < 100; n++) {
      const i = inputs({ object: { kind: 'Pod', metadata: { name: `job-${String(n)}` } } });
      memo.set(memo.key(i), i, 'answer');
    }
    assert.equal(memo.size, 0);
    // The oldest keys were forgotten: pod 0 seen again counts as new.
    const zero = inputs({ object: { kind: 'Pod', metadata: { name: 'job-0' } } });
    memo.set(memo.key(zero), zero, 'answer');
    assert.equal(memo.size, 0);
    const last = inputs({ object: { kind: 'Pod', metadata: { name: 'job-99' } } });
    memo.set(memo.key(last), last, 'answer');
    assert.equal(memo.size, 1, 'a recent key seen again keeps its answer');
  });

  it('gives the answer back for an equal pod with the same inputs (labels and version by value)', () => {
    const memo = new AnswerMemo<string>();
    const first = inputs();
    memo.set(memo.key(first), first, 'answer');
    assert.equal(memo.get(memo.key(first), first), undefined, 'not kept the first time');
    memo.set(memo.key(first), first, 'answer');
    const again = inputs({
      object: { kind: 'Pod', metadata: { generateName: 'web-' }, spec: { containers: [] } },
      namespaceLabels: { 'istio-injection': 'enabled' },
      kubernetesVersion: { major: 1, minor: 32 },
    });
    assert.equal(memo.get(memo.key(again), again), 'answer');
  });

  it('misses when anything the injection reads differs', () => {
    const changes: [string, Partial<MemoInputs>][] = [
      ['the pod', { object: { kind: 'Pod', metadata: { name: 'web-0' } } }],
      ['the namespace', { namespace: 'other' }],
      ['the injector config (reloaded)', { config: { proxy: 'a' } }],
      ['the mesh config (reloaded)', { mesh: { mtls: true } }],
      ['a namespace label', { namespaceLabels: { 'istio-injection': 'disabled' } }],
      ['one more namespace label', { namespaceLabels: { 'istio-injection': 'enabled', x: 'y' } }],
      ['the cluster version', { kubernetesVersion: { major: 1, minor: 28 } }],
      ['no cluster version', { kubernetesVersion: undefined }],
    ];
    for (const [what, over] of changes) {
      const memo = new AnswerMemo<string>();
      const first = inputs();
      memo.set(memo.key(first), first, 'answer');
      memo.set(memo.key(first), first, 'answer');
      assert.equal(memo.get(memo.key(first), first), 'answer');
      const other = inputs(over);
      assert.equal(memo.get(memo.key(other), other), undefined, what);
    }
  });

  it('keeps the most recently used pods up to its capacity', () => {
    const memo = new AnswerMemo<string>(2);
    const pod = (n: string) => inputs({ object: { kind: 'Pod', metadata: { name: n } } });
    for (const n of ['a', 'b', 'a', 'b']) memo.set(memo.key(pod(n)), pod(n), n);
    assert.equal(memo.get(memo.key(pod('a')), pod('a')), 'a');
    memo.set(memo.key(pod('c')), pod('c'), 'c');
    memo.set(memo.key(pod('c')), pod('c'), 'c');
    assert.equal(memo.size, 2);
    assert.equal(memo.get(memo.key(pod('b')), pod('b')), undefined, 'b was the oldest');
    assert.equal(memo.get(memo.key(pod('a')), pod('a')), 'a');
    assert.equal(memo.get(memo.key(pod('c')), pod('c')), 'c');
  });
});
