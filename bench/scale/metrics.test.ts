import assert from 'node:assert/strict';
import {
  count,
  delta,
  parseHistogram,
  parseWebhookHistogram,
  quantile,
  shareWithin,
} from './metrics.ts';
import { percentile } from './report.ts';

const page = (n5: number, n25: number, inf: number) =>
  [
    '# TYPE apiserver_admission_webhook_admission_duration_seconds histogram',
    `apiserver_admission_webhook_admission_duration_seconds_bucket{name="istio-sidecar-injector.istio.io",operation="CREATE",rejected="false",type="admit",le="0.005"} ${String(n5)}`,
    `apiserver_admission_webhook_admission_duration_seconds_bucket{name="istio-sidecar-injector.istio.io",operation="CREATE",rejected="false",type="admit",le="0.025"} ${String(n25)}`,
    `apiserver_admission_webhook_admission_duration_seconds_bucket{name="istio-sidecar-injector.istio.io",operation="CREATE",rejected="false",type="admit",le="+Inf"} ${String(inf)}`,
    `apiserver_admission_webhook_admission_duration_seconds_bucket{name="istio-sidecar-injector.istio.io",operation="UPDATE",rejected="false",type="admit",le="0.005"} 1000`,
    `apiserver_admission_webhook_admission_duration_seconds_bucket{name="v.example.com",operation="CREATE",rejected="false",type="validating",le="0.005"} 1000`,
    'apiserver_admission_webhook_admission_duration_seconds_count{name="x"} 3',
    `apiserver_admission_webhook_admission_duration_seconds_bucket{name="bare.bench",operation="CREATE",rejected="false",type="admit",le="0.005"} 7`,
    `apiserver_admission_webhook_admission_duration_seconds_bucket{name="bare.bench",operation="CREATE",rejected="false",type="admit",le="+Inf"} 8`,
  ].join('\n');

describe('bench:scale readings', () => {
  it("reads the mutating webhook's CREATE calls from the API server's histogram", () => {
    const h = parseWebhookHistogram(page(90, 99, 100));
    assert.deepEqual(
      [...h.entries()],
      [
        [0.005, 90],
        [0.025, 99],
        [Infinity, 100],
      ],
    );
    assert.equal(count(h), 100);
    assert.equal(shareWithin(h, 0.005), 0.9);
  });

  it("keeps the bare webhook's calls apart from the injector's", () => {
    const bare = parseWebhookHistogram(page(1, 2, 3), (n) => n === 'bare.bench');
    assert.deepEqual(
      [...bare.entries()],
      [
        [0.005, 7],
        [Infinity, 8],
      ],
    );
    assert.equal(count(parseWebhookHistogram(page(1, 2, 3))), 3);
  });

  it('takes quantiles as histogram_quantile does: linear inside the bucket', () => {
    const h = delta(
      parseWebhookHistogram(page(180, 199, 200)),
      parseWebhookHistogram(page(90, 99, 100)),
    );
    assert.equal(count(h), 100);
    // 50th of 100: inside the first bucket [0, 5 ms], 50/90 of the way.
    assert.ok(Math.abs(quantile(h, 0.5) - (0.005 * 50) / 90) < 1e-12);
    // 99th: the 9th of the 10 calls in (5, 25] ms: 9/10 of the way.
    assert.ok(Math.abs(quantile(h, 0.99) - 0.023) < 1e-12);
    // Past the last finite bound: that bound.
    assert.equal(quantile(parseWebhookHistogram(page(0, 0, 10)), 0.5), 0.025);
    assert.ok(Number.isNaN(quantile(new Map(), 0.5)));
  });

  it('reads any histogram by name', () => {
    const text =
      'sidecar_injection_time_seconds_bucket{le="0.001"} 4\nsidecar_injection_time_seconds_bucket{le="+Inf"} 5\n';
    assert.equal(quantile(parseHistogram(text, 'sidecar_injection_time_seconds'), 0.5), 0.000625);
  });

  it('takes nearest-rank percentiles of measured changes', () => {
    const xs = Array.from({ length: 20 }, (_, i) => i + 1);
    assert.equal(percentile(xs, 50), 10);
    assert.equal(percentile(xs, 99), 20);
    assert.equal(percentile([5, Infinity], 99), Infinity);
  });
});
