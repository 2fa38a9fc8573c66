import assert from 'node:assert/strict';
import { curveLines, type CurvePoint } from './grpc-capacity.ts';
import { stealTicksOf } from './pinned-process.ts';

const point = (rate: number, perSecond: number): CurvePoint => ({
  fraction: 0.5,
  rate,
  perSecond,
  calls: perSecond * 4,
  p50: 0.3,
  p99: 2,
  errors: 0,
  cpuMicrosPerCall: 10,
  rssMb: 100,
  stolenMs: 0,
});

describe('bench gRPC capacity lines', () => {
  it('marks a latency point whose calls fell behind the rate asked for', () => {
    const [kept, behind] = curveLines('server', [point(10_000, 9_990), point(50_000, 30_000)]);
    assert.match(kept ?? '', /at 50% \(9990\/s\): p50/);
    assert.match(behind ?? '', /at 50% \(30000\/s of 50000 asked: fell behind\)/);
  });

  it('says how much CPU the host took during a point, and nothing when it took none', () => {
    const [taken, none] = curveLines('server', [
      { ...point(10_000, 10_000), stolenMs: 1250 },
      point(10_000, 10_000),
    ]);
    assert.match(taken ?? '', /errors 0, host stole 1250 ms$/);
    assert.doesNotMatch(none ?? '', /stole/);
  });

  it("reads the steal ticks from /proc/stat's cpu line", () => {
    const stat =
      'cpu  2686478 1276 646239 10759624 17618 0 38334 19959 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n';
    assert.equal(stealTicksOf(stat), 19959);
    assert.ok(Number.isNaN(stealTicksOf('intr 1 2 3\n')));
  });
});
