import assert from 'node:assert/strict';
import { parseLabelSelector } from '../lib/label-selector.ts';
import { FieldReader } from '../lib/config/field-reader.ts';
import { defaultInjectorConfig, type InjectorConfig } from './config.ts';
import { decide, type Decision, type PolicyInput } from './policy.ts';

const sel = (v: unknown) => parseLabelSelector(new FieldReader(v, { path: 'sel', what: 'test' }));

const base: PolicyInput = {
  namespace: 'shop',
  namespaceLabels: { 'istio-injection': 'enabled' },
  labels: {},
  annotations: {},
  hostNetwork: false,
  alreadyInjected: false,
};

const cfg = (over: Partial<InjectorConfig> = {}): InjectorConfig => ({
  ...defaultInjectorConfig,
  ...over,
});

interface Row {
  readonly name: string;
  readonly input: Partial<PolicyInput>;
  readonly config?: Partial<InjectorConfig>;
  readonly want: Decision;
}

const rows: Row[] = [
  {
    name: 'labelled namespace injects',
    input: {},
    want: { inject: true, reason: 'namespace_enabled' },
  },
  {
    name: 'unlabelled namespace skips',
    input: { namespaceLabels: {} },
    want: { inject: false, reason: 'namespace_not_enabled' },
  },
  {
    name: 'namespace istio-injection=disabled skips even an opted-in pod',
    input: {
      namespaceLabels: { 'istio-injection': 'disabled' },
      labels: { 'sidecar.istio.io/inject': 'true' },
    },
    want: { inject: false, reason: 'namespace_disabled' },
  },
  {
    name: 'pod label false opts out',
    input: { labels: { 'sidecar.istio.io/inject': 'false' } },
    want: { inject: false, reason: 'pod_opt_out' },
  },
  {
    name: 'pod annotation false opts out',
    input: { annotations: { 'sidecar.istio.io/inject': 'false' } },
    want: { inject: false, reason: 'pod_opt_out' },
  },
  {
    name: 'pod label wins over annotation',
    input: {
      labels: { 'sidecar.istio.io/inject': 'true' },
      annotations: { 'sidecar.istio.io/inject': 'false' },
    },
    want: { inject: true, reason: 'pod_opt_in' },
  },
  {
    name: 'pod opt-in in an unlabelled namespace injects',
    input: { namespaceLabels: {}, labels: { 'sidecar.istio.io/inject': 'true' } },
    want: { inject: true, reason: 'pod_opt_in' },
  },
  {
    name: 'yes/on count as true',
    input: { namespaceLabels: {}, annotations: { 'sidecar.istio.io/inject': 'Yes' } },
    want: { inject: true, reason: 'pod_opt_in' },
  },
  {
    name: 'an unknown value counts as false',
    input: { labels: { 'sidecar.istio.io/inject': 'maybe' } },
    want: { inject: false, reason: 'pod_opt_out' },
  },
  {
    name: 'kube-system is never injected, even opted in',
    input: { namespace: 'kube-system', labels: { 'sidecar.istio.io/inject': 'true' } },
    want: { inject: false, reason: 'system_namespace' },
  },
  {
    name: 'kube-public is never injected',
    input: { namespace: 'kube-public' },
    want: { inject: false, reason: 'system_namespace' },
  },
  {
    name: 'kube-node-lease is never injected',
    input: { namespace: 'kube-node-lease' },
    want: { inject: false, reason: 'system_namespace' },
  },
  {
    name: 'the control-plane namespace is never injected',
    input: { namespace: 'istio-system' },
    want: { inject: false, reason: 'system_namespace' },
  },
  {
    name: 'hostNetwork pods are skipped, even opted in',
    input: { hostNetwork: true, labels: { 'sidecar.istio.io/inject': 'true' } },
    want: { inject: false, reason: 'host_network' },
  },
  {
    name: 'already injected pods get no second sidecar',
    input: { alreadyInjected: true },
    want: { inject: false, reason: 'already_injected' },
  },
  {
    name: 'namespace revision label matching ours injects',
    input: { namespaceLabels: { 'istio.io/rev': 'default' } },
    want: { inject: true, reason: 'revision_enabled' },
  },
  {
    name: 'namespace revision label of another control plane skips',
    input: { namespaceLabels: { 'istio.io/rev': 'canary' } },
    want: { inject: false, reason: 'revision_mismatch' },
  },
  {
    name: 'istio-injection wins over the namespace revision label',
    input: { namespaceLabels: { 'istio-injection': 'enabled', 'istio.io/rev': 'canary' } },
    want: { inject: true, reason: 'namespace_enabled' },
  },
  {
    name: 'pod revision label of another control plane skips',
    input: { labels: { 'istio.io/rev': 'canary' } },
    want: { inject: false, reason: 'revision_mismatch' },
  },
  {
    name: 'pod revision label matching ours brings an unlabelled namespace in scope',
    input: { namespaceLabels: {}, labels: { 'istio.io/rev': 'default' } },
    want: { inject: true, reason: 'revision_enabled' },
  },
  {
    name: 'policy disabled skips pods without an explicit choice',
    input: {},
    config: { policy: 'disabled' },
    want: { inject: false, reason: 'policy_disabled' },
  },
  {
    name: 'policy disabled still injects explicit opt-ins',
    input: { labels: { 'sidecar.istio.io/inject': 'true' } },
    config: { policy: 'disabled' },
    want: { inject: true, reason: 'pod_opt_in' },
  },
  {
    name: 'neverInjectSelector skips',
    input: { labels: { tier: 'batch' } },
    config: { neverInjectSelector: [sel({ matchLabels: { tier: 'batch' } })] },
    want: { inject: false, reason: 'never_inject_selector' },
  },
  {
    name: 'alwaysInjectSelector injects under policy disabled',
    input: { labels: { mesh: 'yes' } },
    config: {
      policy: 'disabled',
      alwaysInjectSelector: [sel({ matchExpressions: [{ key: 'mesh', operator: 'Exists' }] })],
    },
    want: { inject: true, reason: 'always_inject_selector' },
  },
  {
    name: 'never wins over always',
    input: { labels: { tier: 'batch', mesh: 'yes' } },
    config: {
      neverInjectSelector: [sel({ matchLabels: { tier: 'batch' } })],
      alwaysInjectSelector: [sel({ matchLabels: { mesh: 'yes' } })],
    },
    want: { inject: false, reason: 'never_inject_selector' },
  },
  {
    name: 'an explicit pod label wins over neverInjectSelector',
    input: { labels: { tier: 'batch', 'sidecar.istio.io/inject': 'true' } },
    config: { neverInjectSelector: [sel({ matchLabels: { tier: 'batch' } })] },
    want: { inject: true, reason: 'pod_opt_in' },
  },
  {
    name: 'an explicit pod label wins over alwaysInjectSelector',
    input: { labels: { mesh: 'yes', 'sidecar.istio.io/inject': 'false' } },
    config: { alwaysInjectSelector: [sel({ matchLabels: { mesh: 'yes' } })] },
    want: { inject: false, reason: 'pod_opt_out' },
  },
  {
    name: 'alwaysInjectSelector does not reach an unlabelled namespace',
    input: { namespaceLabels: {}, labels: { mesh: 'yes' } },
    config: { alwaysInjectSelector: [sel({ matchLabels: { mesh: 'yes' } })] },
    want: { inject: false, reason: 'namespace_not_enabled' },
  },
  {
    name: 'a custom system namespace list is honoured',
    input: { namespace: 'monitoring' },
    config: { systemNamespaces: ['monitoring'] },
    want: { inject: false, reason: 'system_namespace' },
  },
];

describe('injection policy', () => {
  for (const row of rows) {
    it(row.name, () => {
      assert.deepEqual(decide({ ...base, ...row.input }, cfg(row.config)), row.want);
    });
  }

  it('warns about a value that is neither true nor false', () => {
    const warnings: string[] = [];
    decide({ ...base, labels: { 'sidecar.istio.io/inject': 'maybe' } }, cfg(), warnings);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /sidecar\.istio\.io\/inject="maybe"/);
  });
});
