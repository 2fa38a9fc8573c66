import assert from 'node:assert/strict';
import { heapGrowthFlag, releaseUnusedMemory } from './heap.ts';

describe('releaseUnusedMemory', () => {
  it('collects what is no longer reachable and gives back the pages it took', () => {
    let garbage: number[][] | undefined = Array.from({ length: 200 }, () =>
      Array.from({ length: 10_000 }, (_, i) => i + 0.5),
    );
    const grown = process.memoryUsage().heapTotal;
    assert.ok(garbage.length === 200 && grown > 16 << 20);
    garbage = undefined;
    releaseUnusedMemory();
    const after = process.memoryUsage();
    assert.equal(garbage, undefined);
    assert.ok(
      after.heapTotal < grown - (8 << 20),
      `heap ${String(grown >> 20)} -> ${String(after.heapTotal >> 20)} MB`,
    );
  });

  it('can run again', () => {
    releaseUnusedMemory();
    releaseUnusedMemory();
  });
});

describe('heapGrowthFlag', () => {
  it('sets the growth asked for unless node was started with one', () => {
    assert.equal(heapGrowthFlag([], 100), '--heap-growing-percent=100');
    assert.equal(heapGrowthFlag(['--max-semi-space-size=16'], 50), '--heap-growing-percent=50');
    assert.equal(heapGrowthFlag(['--heap-growing-percent=30'], 100), undefined);
  });
});
