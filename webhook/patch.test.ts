import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import fastJsonPatch from 'fast-json-patch';
import type { JsonValue } from '../lib/json.ts';
import { parseYamlDocuments } from '../lib/yaml.ts';
import { injectObject } from './engine.ts';
import { goldenCases, goldenContext, goldenDir } from './golden-cases.ts';
import { applyPatch, createPatch } from './patch.ts';

/** The patch text fast-json-patch's `compare` gives: the webhook's patch must stay exactly this. */
const reference = (a: JsonValue, b: JsonValue): string =>
  JSON.stringify(fastJsonPatch.compare(a as object, b as object));

const key = fc.oneof(
  fc.constantFrom('a', 'b', 'c', '0', '1', 'x/y', 'm~n', '~1', ''),
  fc.string({ maxLength: 4 }),
);
const json: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom<JsonValue>(null, true, false, 0, 1, 'a', ''),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 4, noNullPrototype: true }),
  ),
})).value;

describe('createPatch', () => {
  it('gives the same patch text as fast-json-patch for every golden case', () => {
    for (const { name, options } of goldenCases) {
      const ctx = goldenContext(options);
      for (const doc of parseYamlDocuments(readFileSync(`${goldenDir}${name}.yaml`, 'utf8'))) {
        const injected = injectObject(doc.value, ctx).object;
        assert.equal(
          JSON.stringify(createPatch(doc.value, injected)),
          reference(doc.value, injected),
        );
      }
    }
  });

  it('gives the same patch text as fast-json-patch for random documents, and it applies', () => {
    fc.assert(
      fc.property(json, json, (a, b) => {
        if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return;
        const patch = createPatch(a, b);
        assert.equal(JSON.stringify(patch), reference(a, b));
        if (Array.isArray(a) === Array.isArray(b)) assert.deepEqual(applyPatch(a, patch), b);
      }),
      { numRuns: 2000 },
    );
  });

  it('gives the same patch text for a document and a changed copy of it', () => {
    const edit = fc.tuple(json, fc.array(fc.tuple(key, json), { maxLength: 3 }));
    fc.assert(
      fc.property(
        fc.dictionary(key, json, { maxKeys: 5, noNullPrototype: true }),
        edit,
        (doc, [extra, sets]) => {
          const edited = structuredClone(doc);
          for (const [k, v] of sets) edited[k] = v;
          // Every other case also drops the first key.
          const changed = Object.fromEntries(Object.entries(edited).slice(sets.length % 2));
          changed['extra'] = extra;
          assert.equal(JSON.stringify(createPatch(doc, changed)), reference(doc, changed));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('escapes / and ~ in keys and gives nothing for equal or non-object documents', () => {
    assert.deepEqual(createPatch({ a: 1 }, { a: 1, 'x/y~z': 2 }), [
      { op: 'add', path: '/x~1y~0z', value: 2 },
    ]);
    assert.deepEqual(createPatch({ a: [1] }, { a: [1] }), []);
    assert.deepEqual(createPatch('a', { a: 1 }), []);
  });
});
