import assert from 'node:assert/strict';
import { medianCpu, runWithCpu } from './paired-runs.ts';

describe('bench/agent paired runs', () => {
  it("keeps the run's result and adds the CPU per unit, counting the warm-up second", async () => {
    const run = await runWithCpu(process.pid, 4, () => {
      const until = Date.now() + 30;
      while (Date.now() < until); // some CPU to count
      return Promise.resolve({ checks: 800, perSecond: 200, p99: 1, errors: 0 });
    });
    assert.equal(run.checks, 800);
    assert.equal(run.perSecond, 200);
    // 800 recorded checks over 4 s are 1,000 with the warm-up second; ~30 ms of CPU or more.
    assert.ok(
      run.cpuMicrosPerUnit >= 10 && run.cpuMicrosPerUnit < 1000,
      String(run.cpuMicrosPerUnit),
    );
    assert.equal(medianCpu([run]), run.cpuMicrosPerUnit);
  });
});
