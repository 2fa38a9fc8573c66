/**
 * The mesh config's tracing fields: 0.2's `enableTracing` and `defaultConfig.zipkinAddress`, and
 * modern Istio's `defaultConfig.tracing` (`sampling`, `zipkin.address`); errors name the field.
 */
import assert from 'node:assert/strict';
import { parseMeshConfig } from './mesh-config.ts';
import { parseYamlDocument } from './yaml.ts';

const mesh = (yaml: string) => parseMeshConfig(parseYamlDocument(yaml));

describe('mesh config: tracing', () => {
  it('defaults: tracing enabled, no collector, 1% sampling', () => {
    const m = parseMeshConfig(null);
    assert.equal(m.enableTracing, true);
    assert.equal(m.defaultConfig.zipkinAddress, '');
    assert.equal(m.defaultConfig.tracing.sampling, 1);
  });

  it("reads 0.2's zipkinAddress and a sampling percentage up to 100", () => {
    const m = mesh(
      'defaultConfig:\n  zipkinAddress: zipkin.istio-system:9411\n  tracing:\n    sampling: 100',
    );
    assert.equal(m.defaultConfig.zipkinAddress, 'zipkin.istio-system:9411');
    assert.equal(m.defaultConfig.tracing.sampling, 100);
    assert.equal(
      mesh('defaultConfig:\n  tracing:\n    sampling: 0.05').defaultConfig.tracing.sampling,
      0.05,
    );
  });

  it("takes modern Istio's tracing.zipkin.address as the collector", () => {
    const m = mesh('defaultConfig:\n  tracing:\n    zipkin:\n      address: jaeger.obs:9411');
    assert.equal(m.defaultConfig.zipkinAddress, 'jaeger.obs:9411');
    const both = mesh(
      'defaultConfig:\n  zipkinAddress: jaeger.obs:9411\n  tracing:\n    zipkin:\n      address: jaeger.obs:9411',
    );
    assert.equal(both.defaultConfig.zipkinAddress, 'jaeger.obs:9411');
  });

  const bad: [string, string, RegExp][] = [
    [
      'a sampling above 100',
      'defaultConfig:\n  tracing:\n    sampling: 101',
      /mesh config: defaultConfig\.tracing\.sampling: must be a number from 0 to 100, got number 101/,
    ],
    [
      'a sampling that is not a number',
      'defaultConfig:\n  tracing:\n    sampling: "1%"',
      /defaultConfig\.tracing\.sampling: must be a number/,
    ],
    [
      'a collector without a port',
      'defaultConfig:\n  zipkinAddress: zipkin',
      /defaultConfig\.zipkinAddress: must be host:port, got "zipkin"/,
    ],
    [
      'a zipkin.address without a port',
      'defaultConfig:\n  tracing:\n    zipkin:\n      address: zipkin',
      /defaultConfig\.tracing\.zipkin\.address: must be host:port/,
    ],
    [
      'two different collectors',
      'defaultConfig:\n  zipkinAddress: a:9411\n  tracing:\n    zipkin:\n      address: b:9411',
      /defaultConfig\.tracing\.zipkin\.address: is "b:9411" but zipkinAddress is "a:9411"/,
    ],
    [
      'an unknown tracing field',
      'defaultConfig:\n  tracing:\n    samplingRate: 5',
      /defaultConfig\.tracing\.samplingRate: unknown field/,
    ],
    ['enableTracing not a boolean', 'enableTracing: "yes"', /enableTracing: must be true or false/],
  ];
  for (const [name, yaml, want] of bad) {
    it(`names the field for ${name}`, () => {
      assert.throws(() => mesh(yaml), want);
    });
  }
});
