import assert from 'node:assert/strict';
import { parseConfigText } from '../lib/config-file.ts';
import { parseMeshConfig } from '../lib/mesh-config.ts';
import { parseYamlDocument } from '../lib/yaml.ts';
import { defaultInjectorConfig, parseInjectorConfig } from './config.ts';

const parse = (yaml: string) => parseInjectorConfig(parseYamlDocument(yaml));

describe('injector config', () => {
  it('defaults every field', () => {
    assert.deepEqual(parse(''), defaultInjectorConfig);
  });

  it('reads the config out of the istio-sidecar-injector ConfigMap', () => {
    const cm = 'kind: ConfigMap\ndata:\n  config: |\n    policy: disabled\n';
    assert.equal(parseInjectorConfig(parseConfigText(cm, 'cm.yaml', 'config')).policy, 'disabled');
  });

  it('says which key a ConfigMap is missing', () => {
    assert.throws(
      () => parseConfigText('kind: ConfigMap\ndata: {}\n', 'cm.yaml', 'config'),
      /cm\.yaml: ConfigMap has no data\.config/,
    );
  });

  const bad: [string, string, RegExp][] = [
    ['a typo', 'polcy: enabled', /injector config: polcy: unknown field/],
    [
      'a bad policy',
      'policy: sometimes',
      /policy: must be one of enabled, disabled, got string "sometimes"/,
    ],
    ['a nested typo', 'proxy:\n  imge: x', /proxy\.imge: unknown field/],
    [
      'a bad quantity',
      'proxy:\n  resources:\n    limits:\n      cpu: lots',
      /proxy\.resources\.limits\.cpu: must be a Kubernetes quantity/,
    ],
    ['a bad uid', 'proxy:\n  uid: -1', /proxy\.uid: must be an integer from 1/],
    ['a bad image', 'proxy:\n  image: "a b"', /proxy\.image: must be a container image reference/],
    [
      'a bad selector operator',
      'neverInjectSelector:\n  - matchExpressions:\n      - key: a\n        operator: Maybe',
      /neverInjectSelector\[0\]\.matchExpressions\[0\]\.operator: must be one of In, NotIn, Exists, DoesNotExist/,
    ],
    [
      'In without values',
      'alwaysInjectSelector:\n  - matchExpressions:\n      - key: a\n        operator: In',
      /alwaysInjectSelector\[0\]\.matchExpressions\[0\]\.values: must not be empty for operator In/,
    ],
    [
      'a bad CIDR',
      'capture:\n  excludeOutboundIPRanges: 10.0.0.0/99',
      /capture\.excludeOutboundIPRanges: "10\.0\.0\.0\/99"/,
    ],
    [
      'a star in an exclude list',
      'capture:\n  excludeInboundPorts: "*"',
      /capture\.excludeInboundPorts: "\*" is not allowed here/,
    ],
    ['nativeSidecars', 'nativeSidecars: maybe', /nativeSidecars: must be one of auto, true, false/],
    ['not a map', '- a\n- b', /injector config: \(root\): must be an object/],
  ];
  for (const [name, yaml, want] of bad) {
    it(`names the field for ${name}`, () => {
      assert.throws(() => parse(yaml), want);
    });
  }
});

describe('mesh config', () => {
  it('defaults to PERMISSIVE mTLS and cluster.local', () => {
    const m = parseMeshConfig(null);
    assert.equal(m.authPolicy, 'PERMISSIVE');
    assert.equal(m.trustDomain, 'cluster.local');
    assert.equal(m.defaultConfig.discoveryAddress, 'istio-pilot.istio-system:15010');
    assert.equal(m.caAddress, '', "certificates from the mounted istio.<sa> Secret, 0.2's way");
  });

  const bad: [string, string, RegExp][] = [
    [
      'authPolicy',
      'authPolicy: SOME',
      /mesh config: authPolicy: must be one of NONE, PERMISSIVE, MUTUAL_TLS/,
    ],
    [
      'a duration',
      'defaultConfig:\n  drainDuration: soon',
      /defaultConfig\.drainDuration: must be a duration/,
    ],
    [
      'an address',
      'defaultConfig:\n  discoveryAddress: pilot',
      /defaultConfig\.discoveryAddress: must be host:port/,
    ],
    [
      'a typo',
      'defaultConfig:\n  drainDurations: 1s',
      /defaultConfig\.drainDurations: unknown field/,
    ],
    ['a trust domain', 'trustDomain: "Not Valid"', /trustDomain: must be a DNS-like name/],
    ['the CA address', 'caAddress: istio-ca', /mesh config: caAddress: must be host:port/],
  ];
  for (const [name, yaml, want] of bad) {
    it(`names the field for ${name}`, () => {
      assert.throws(() => parseMeshConfig(parseYamlDocument(yaml)), want);
    });
  }
});
