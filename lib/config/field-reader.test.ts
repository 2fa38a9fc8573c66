import assert from 'node:assert/strict';
import { ErrorCode, IstioLiteError } from '../errors.ts';
import { FieldError, FieldReader } from './field-reader.ts';

function thrown(f: () => unknown): FieldError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof FieldError, String(e));
    assert.ok(e instanceof IstioLiteError);
    assert.equal(e.code, ErrorCode.InvalidConfig);
    return e;
  }
  return assert.fail('did not throw');
}

describe('FieldReader', () => {
  describe('strict (config files, ConfigMaps, Pilot specs)', () => {
    it('names what and the full field path in every error, with .field', () => {
      const r = new FieldReader({ proxy: { ports: [{ n: 1 }, { n: 'x' }] } }, { what: 'cfg' });
      const ports = r.object('proxy').list('ports');
      assert.equal(ports.length, 2);
      assert.equal(ports[0]?.integer('n', 0, 0, 9), 1);
      const e = thrown(() => ports[1]?.integer('n', 0, 0, 9));
      assert.equal(
        e.message,
        'cfg: proxy.ports[1].n: must be an integer from 0 to 9, got string "x"',
      );
      assert.equal(e.field, 'proxy.ports[1].n');
      assert.equal(e.what, 'cfg');
    });

    it('refuses a root that is not an object, naming (root)', () => {
      const e = thrown(() => new FieldReader(['a'], { what: 'injector config' }));
      assert.equal(e.message, 'injector config: (root): must be an object');
    });

    it('reads absent and null as defaults, and an absent object as empty', () => {
      const r = new FieldReader({ a: null }, { path: 'spec', what: 'w' });
      assert.equal(r.string('a', 'd'), 'd');
      assert.deepEqual(r.stringList('b'), []);
      assert.equal(r.object('c').keys().length, 0);
      assert.deepEqual(r.list('d'), []);
      r.done();
    });

    it('done() refuses fields nobody read', () => {
      const r = new FieldReader({ name: 'x', nmae: 'y' }, { path: 'spec', what: 'w' });
      r.string('name', '');
      assert.equal(
        thrown(() => {
          r.done();
        }).message,
        'w: spec.nmae: unknown field',
      );
    });

    it('keeps field names exact: no snake_case, no numeric strings, no enum numbers', () => {
      const r = new FieldReader({ max_amount: 3, n: '5', e: 1, m: { k: 1 } }, { what: 'w' });
      assert.equal(r.integer('maxAmount', 0), 0);
      assert.match(
        thrown(() => {
          r.done();
        }).message,
        /^w: max_amount: unknown field$/,
      );
      assert.match(thrown(() => r.integer('n', 0)).message, /must be an integer .* got string "5"/);
      assert.match(thrown(() => r.oneOf('e', ['A', 'B'], 'A')).message, /got number 1$/);
      assert.equal(
        thrown(() => r.stringMap('m')).message,
        'w: m.k: must be a string, got number 1',
      );
    });

    it('takes a YAML boolean as its string in oneOf', () => {
      const r = new FieldReader({ v: true });
      assert.equal(r.oneOf('v', ['true', 'false', 'auto'], 'auto'), 'true');
    });

    it('returns string maps with user keys as written', () => {
      const r = new FieldReader(JSON.parse('{"labels": {"App": "a", "__proto__": "b"}}'));
      assert.deepEqual(
        [...r.stringMap('labels')],
        [
          ['App', 'a'],
          ['__proto__', 'b'],
        ],
      );
    });
  });

  describe('jsonpb (Mixer specs)', () => {
    const opts = { path: 'spec', jsonpb: true };

    it('reads a camelCase field under either spelling, never renaming user map keys', () => {
      const r = new FieldReader(
        { max_amount: '7', dimensions: { source_name: 's', code: 200, ok: true } },
        opts,
      );
      assert.equal(r.integer('maxAmount', 0), 7);
      assert.deepEqual(
        [...r.stringMap('dimensions')],
        [
          ['source_name', 's'],
          ['code', '200'],
          ['ok', 'true'],
        ],
      );
      r.done();
    });

    it('takes enums by number, durations, number lists and object maps', () => {
      const r = new FieldReader(
        { kind: 1, flushInterval: '1m30s', bounds: [1, 2], metrics: { a: { type: 'GAUGE' } } },
        opts,
      );
      assert.equal(r.oneOf('kind', ['COUNTER', 'GAUGE'], 'COUNTER'), 'GAUGE');
      assert.equal(r.duration('flushInterval', 0), 90_000);
      assert.deepEqual(r.numberList('bounds'), [1, 2]);
      const m = r.objectMap('metrics').get('a');
      assert.ok(m);
      assert.equal(m.oneOf('type', ['COUNTER', 'GAUGE'], 'COUNTER'), 'GAUGE');
      m.done();
      r.done();
    });

    it('names spec.<field> without a what, with .field', () => {
      const r = new FieldReader({ quotas: [{ name: '' }], status: [] }, opts);
      const e = thrown(() => r.list('quotas')[0]?.requiredString('name'));
      assert.equal(e.message, 'spec.quotas[0].name: is required');
      assert.equal(e.field, 'spec.quotas[0].name');
      assert.equal(e.what, undefined);
      assert.equal(
        thrown(() => r.object('status')).message,
        'spec.status: must be an object, got a list',
      );
      assert.equal(r.number('rate', 0.5, 0, 1), 0.5);
      assert.equal(
        thrown(() => new FieldReader({ rate: 2 }, opts).number('rate', 1, 0, 1)).message,
        'spec.rate: must be a number from 0 to 1, got number 2',
      );
    });
  });
});
