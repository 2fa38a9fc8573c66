import assert from 'node:assert/strict';
import { Children, Counter, HotCounts, createRegistry } from './metrics.ts';

describe('metric children kept by key', () => {
  it('makes each child once and counts into the labelled series', async () => {
    const registry = createRegistry('children_test', false);
    const counter = new Counter({
      name: 'children_test_total',
      help: 'test',
      labelNames: ['api', 'code'],
      registers: [registry],
    });
    let made = 0;
    const children = new Children((key) => {
      made++;
      const [api = '', code = ''] = key.split('\0');
      return counter.labels({ api, code });
    });
    for (let i = 0; i < 5; i++) children.get('mixer\0OK').inc();
    children.get('rls\0DENIED').inc();
    assert.equal(made, 2);
    const text = await registry.metrics();
    assert.match(text, /^children_test_total\{api="mixer",code="OK"\} 5$/m);
    assert.match(text, /^children_test_total\{api="rls",code="DENIED"\} 1$/m);
  });
});

describe('hot counts', () => {
  it('counts in plain cells and adds only what is new to the counter at each scrape', async () => {
    const registry = createRegistry('hot_test', false);
    const counts = new HotCounts(['source', 'code']);
    new Counter({
      name: 'hot_test_total',
      help: 'test',
      labelNames: ['source', 'code'],
      registers: [registry],
      collect() {
        counts.publish(this);
      },
    });
    for (let i = 0; i < 3; i++) counts.cell('cache', 0).n++;
    counts.cell('mixer', 7).n++;
    assert.equal(counts.cell('cache', 0), counts.cell('cache', 0));
    let text = await registry.metrics();
    assert.match(text, /^hot_test_total\{source="cache",code="0"\} 3$/m);
    assert.match(text, /^hot_test_total\{source="mixer",code="7"\} 1$/m);
    counts.cell('cache', 0).n += 2;
    text = await registry.metrics();
    assert.match(text, /^hot_test_total\{source="cache",code="0"\} 5$/m);
    assert.match(text, /^hot_test_total\{source="mixer",code="7"\} 1$/m);
  });

  it('keeps cells by every label value for a counter with more than two labels', async () => {
    const registry = createRegistry('hot_three', false);
    const counts = new HotCounts(['adapter', 'handler', 'result']);
    new Counter({
      name: 'hot_three_total',
      help: 'test',
      labelNames: ['adapter', 'handler', 'result'],
      registers: [registry],
      collect() {
        counts.publish(this);
      },
    });
    const ok = counts.cellOf(['denier', 'denyall', 'ok']);
    assert.equal(counts.cellOf(['denier', 'denyall', 'ok']), ok);
    ok.n += 4;
    counts.cellOf(['denier', 'denyall', 'error']).n++;
    const text = await registry.metrics();
    assert.match(text, /^hot_three_total\{adapter="denier",handler="denyall",result="ok"\} 4$/m);
    assert.match(text, /^hot_three_total\{adapter="denier",handler="denyall",result="error"\} 1$/m);
    assert.throws(
      () => counts.cellOf(['denier', 'ok']),
      /2 values for labels adapter, handler, result/,
    );
  });
});
