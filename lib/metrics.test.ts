import assert from 'node:assert/strict';
import { Children, Counter, createRegistry } from './metrics.ts';

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
