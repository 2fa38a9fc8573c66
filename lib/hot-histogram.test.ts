import assert from 'node:assert/strict';
import { HotHistogram } from './hot-histogram.ts';
import { createRegistry, Histogram } from './metrics.ts';

const buckets = [0.001, 0.01, 0.1, 1];
const values = [0.0005, 0.001, 0.002, 0.05, 0.5, 2, 0.01, 0];

function pair() {
  const ours = createRegistry('hot_hist', false);
  const theirs = createRegistry('hot_hist', false);
  const config = {
    name: 'hot_hist_seconds',
    help: 'test',
    labelNames: ['adapter', 'code'] as const,
    buckets,
  };
  return {
    ours,
    theirs,
    hot: new HotHistogram({ ...config, registers: [ours] }),
    reference: new Histogram({ ...config, registers: [theirs] }),
  };
}

describe('HotHistogram', () => {
  it("exposes what prom-client's Histogram exposes for the same observations", async () => {
    const { ours, theirs, hot, reference } = pair();
    const denier = hot.series({ adapter: 'denier', code: 7 });
    for (const v of values) {
      denier.observe(v);
      reference.observe({ adapter: 'denier', code: 7 }, v);
    }
    // The three forms of prom-client's observe reach the series too.
    hot.observe({ adapter: 'list', code: 0 }, 0.003);
    reference.observe({ adapter: 'list', code: 0 }, 0.003);
    hot.observe({ labels: { adapter: 'list', code: 0 }, value: 0.2 });
    reference.observe({ adapter: 'list', code: 0 }, 0.2);
    hot.observe(0.7);
    reference.observe(0.7);
    assert.equal(await ours.metrics(), await theirs.metrics());
    assert.deepEqual(
      (await hot.get()).values.map((v) => [v.metricName, v.labels, v.value]),
      (await reference.get()).values.map((v) => [v.metricName, v.labels, v.value]),
    );
  });

  it('without labels, starts with a zero series and counts into it, as prom-client does', async () => {
    const ours = createRegistry('hot_hist', false);
    const theirs = createRegistry('hot_hist', false);
    const config = { name: 'plain_seconds', help: 'test', buckets };
    const hot = new HotHistogram({ ...config, registers: [ours] });
    const reference = new Histogram({ ...config, registers: [theirs] });
    assert.equal(await ours.metrics(), await theirs.metrics());
    hot.observe(0.05);
    reference.observe(0.05);
    assert.equal(await ours.metrics(), await theirs.metrics());
  });

  it('makes a series once per label set, and reset empties it', async () => {
    const { ours, hot } = pair();
    const a = hot.series({ adapter: 'a', code: 0 });
    assert.equal(hot.series({ code: 0, adapter: 'a' }), a);
    a.observe(0.5);
    assert.match(await ours.metrics(), /^hot_hist_seconds_count\{adapter="a",code="0"\} 1$/m);
    ours.resetMetrics();
    assert.doesNotMatch(await ours.metrics(), /hot_hist_seconds_count/);
  });

  it('refuses a label it was not given and a value that is not a number', () => {
    const { hot } = pair();
    assert.throws(
      () => hot.series({ adapter: 'a', other: 'x' } as unknown as { adapter: string }),
      /Added label "other"/,
    );
    assert.throws(() => {
      hot.series({ adapter: 'a' }).observe(Number.NaN);
    }, /not a valid number/);
  });
});
