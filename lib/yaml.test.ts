import assert from 'node:assert/strict';
import { parseYamlDocuments, toYamlDocuments } from './yaml.ts';

describe('multi-document YAML', () => {
  it('keeps documents in order and drops empty ones', () => {
    const docs = parseYamlDocuments('a: 1\n---\n---\nb: 2\n---\n- 3\n');
    assert.deepEqual(
      docs.map((d) => d.value),
      [{ a: 1 }, { b: 2 }, [3]],
    );
    assert.deepEqual(
      docs.map((d) => d.index),
      [1, 3, 4],
    );
  });

  it('names the document and line of a syntax error', () => {
    assert.throws(
      () => parseYamlDocuments('a: 1\n---\nb: 2\n---\nc: [1, 2\nd: 4\n', 'app.yaml'),
      /^IstioLiteError: app\.yaml: document 3, line \d+: invalid YAML/,
    );
  });

  it('refuses duplicate keys', () => {
    assert.throws(
      () => parseYamlDocuments('a: 1\na: 2\n', 'x.yaml'),
      /x\.yaml: document 1, line 2/,
    );
  });

  it('round-trips documents', () => {
    const text = toYamlDocuments([{ a: 1 }, { b: ['x', 'y'] }]);
    assert.deepEqual(
      parseYamlDocuments(text).map((d) => d.value),
      [{ a: 1 }, { b: ['x', 'y'] }],
    );
  });
});
