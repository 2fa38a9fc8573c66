import assert from 'node:assert/strict';
import { curveLines, type CurvePoint } from './grpc-capacity.ts';

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
});

describe('bench gRPC capacity lines', () => {
  it('marks a latency point whose calls fell behind the rate asked for', () => {
    const [kept, behind] = curveLines('server', [point(10_000, 9_990), point(50_000, 30_000)]);
    assert.match(kept ?? '', /at 50% \(9990\/s\): p50/);
    assert.match(behind ?? '', /at 50% \(30000\/s of 50000 asked: fell behind\)/);
  });
});
