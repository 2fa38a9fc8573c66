import assert from 'node:assert/strict';
import fc from 'fast-check';
import { cloneJson, type JsonValue } from './json.ts';

describe('cloneJson', () => {
  it('copies any JSON value deeply: equal, and sharing no object or array', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const c = cloneJson(v as JsonValue);
        assert.deepEqual(c, v);
        const shared = (a: unknown, b: unknown): boolean =>
          typeof a === 'object' &&
          a !== null &&
          (a === b ||
            Object.keys(a).some((k) =>
              shared((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
            ));
        assert.equal(shared(c, v), false);
      }),
    );
  });

  it('keeps an own __proto__ key as a key, not as the prototype', () => {
    const v = JSON.parse('{"__proto__":{"polluted":true},"a":1}') as JsonValue;
    const c = cloneJson(v) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(c), Object.prototype);
    assert.equal('polluted' in c, false);
    assert.deepEqual(Object.keys(c), ['__proto__', 'a']);
    assert.equal(JSON.stringify(c), JSON.stringify(v));
  });
});
