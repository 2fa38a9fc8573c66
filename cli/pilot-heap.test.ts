import assert from 'node:assert/strict';
import { heapGrowthFlag as libFlag } from '../lib/heap.ts';
import { pilotHeapGrowthPercent } from './commands/pilot.ts';

const heapGrowthFlag = (execArgv: readonly string[]) => libFlag(execArgv, pilotHeapGrowthPercent);

describe('istio-lite pilot: the heap growth flag', () => {
  it('sets a 1.5x old-generation growth unless node was started with one', () => {
    assert.equal(heapGrowthFlag([]), '--heap-growing-percent=50');
    assert.equal(heapGrowthFlag(['--max-semi-space-size=4']), '--heap-growing-percent=50');
    assert.equal(heapGrowthFlag(['--heap-growing-percent=100']), undefined);
  });
});
