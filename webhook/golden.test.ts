import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseYamlDocuments } from '../lib/yaml.ts';
import { injectObject } from './engine.ts';
import { goldenCases, goldenContext, goldenDir } from './golden-cases.ts';
import { kubeInjectText } from './kube-inject.ts';
import { applyPatch, createPatch } from './patch.ts';

const update = process.env['UPDATE_GOLDEN'] === '1';

describe('kube-inject golden files (UPDATE_GOLDEN=1 regenerates)', () => {
  for (const { name, options } of goldenCases) {
    describe(name, () => {
      const ctx = goldenContext(options);
      const input = readFileSync(`${goldenDir}${name}.yaml`, 'utf8');
      const goldenPath = `${goldenDir}${name}.yaml.injected`;

      it('matches its golden output', () => {
        const got = kubeInjectText(input, ctx, `${name}.yaml`).output;
        if (update) writeFileSync(goldenPath, got);
        assert.ok(existsSync(goldenPath), `missing ${goldenPath}: run with UPDATE_GOLDEN=1`);
        assert.equal(got, readFileSync(goldenPath, 'utf8'), `stale golden ${name}.yaml.injected`);
      });

      it('is idempotent: injecting the output changes nothing', () => {
        const once = kubeInjectText(input, ctx).output;
        assert.equal(kubeInjectText(once, ctx).output, once);
      });

      it('gives a patch that turns each input document into its output', () => {
        for (const doc of parseYamlDocuments(input)) {
          const injected = injectObject(doc.value, ctx).object;
          const patch = createPatch(doc.value, injected);
          assert.deepEqual(applyPatch(doc.value, patch), injected);
        }
      });
    });
  }
});
