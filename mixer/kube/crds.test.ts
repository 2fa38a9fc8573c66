import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseYamlDocuments } from '../../lib/yaml.ts';
import { mixerCrds, mixerKinds, pluralOf, renderMixerCrds } from './crds.ts';

const file = new URL('../../charts/istio-lite/crds/mixer.yaml', import.meta.url);

describe('mixer CRDs', () => {
  it('the chart holds the generated CRDs (UPDATE_GOLDEN=1 rewrites them)', () => {
    if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(file, renderMixerCrds());
    const got = parseYamlDocuments(readFileSync(file, 'utf8')).map((d) => d.value);
    assert.deepEqual(
      got,
      mixerCrds(),
      'crds/mixer.yaml is stale: UPDATE_GOLDEN=1 npm run test:unit',
    );
  });

  it('defines one namespaced kind per template and adapter in config.istio.io/v1alpha2', () => {
    const docs = parseYamlDocuments(renderMixerCrds()).map(
      (d) => d.value as { spec: { names: { kind: string }; scope: string; group: string } },
    );
    assert.deepEqual(
      docs.map((d) => d.spec.names.kind),
      [...mixerKinds],
    );
    assert.ok(
      docs.every((d) => d.spec.scope === 'Namespaced' && d.spec.group === 'config.istio.io'),
    );
  });
});

describe('mixer CRD names', () => {
  it('spells plurals as Istio does', () => {
    assert.equal(pluralOf('logentry'), 'logentries');
    assert.equal(pluralOf('listentry'), 'listentries');
    assert.equal(pluralOf('prometheus'), 'prometheuses');
    assert.equal(pluralOf('stdio'), 'stdios');
    assert.equal(pluralOf('rule'), 'rules');
  });
});
