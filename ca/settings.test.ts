import assert from 'node:assert/strict';
import { ErrorCode, isIstioLiteError } from '../lib/errors.ts';
import { parseCaConfig } from './settings.ts';

describe('ca configuration', () => {
  it('has the documented defaults', () => {
    const c = parseCaConfig({}, {});
    assert.equal(c.namespace, 'istio-system');
    assert.equal(c.trustDomain, 'cluster.local');
    assert.equal(c.grpcPort, 8060);
    assert.equal(c.monitoringPort, 15014);
    assert.equal(c.rootKeyAlgorithm, 'ecdsa-p256');
    assert.equal(c.rootTtlMs, 87600 * 3.6e6);
    assert.equal(c.workloadTtlMs, 24 * 3.6e6);
    assert.equal(c.maxWorkloadTtlMs, 90 * 24 * 3.6e6);
    assert.equal(c.graceRatio, 0.5);
    assert.deepEqual(c.excludedNamespaces, ['kube-system', 'kube-public', 'kube-node-lease']);
    assert.equal(c.selfSignedOrg, 'cluster.local');
    assert.equal(c.signingFiles, undefined);
  });

  it('takes POD_NAMESPACE and TRUST_DOMAIN from the environment; flags win', () => {
    const env = { POD_NAMESPACE: 'mesh', TRUST_DOMAIN: 'example.org' };
    assert.equal(parseCaConfig({}, env).namespace, 'mesh');
    assert.equal(parseCaConfig({}, env).trustDomain, 'example.org');
    assert.equal(parseCaConfig({ namespace: 'other' }, env).namespace, 'other');
  });

  const bad: { name: string; flags: Record<string, string>; message: RegExp }[] = [
    {
      name: 'a bad port',
      flags: { 'grpc-port': 'abc' },
      message: /^--grpc-port: "abc" is not a port/,
    },
    {
      name: 'a bad duration',
      flags: { 'workload-cert-ttl': '1 day' },
      message: /^--workload-cert-ttl: "1 day" is not a duration/,
    },
    {
      name: 'a TTL above the maximum',
      flags: { 'workload-cert-ttl': '100h', 'max-workload-cert-ttl': '50h' },
      message: /^--workload-cert-ttl: must not exceed --max-workload-cert-ttl/,
    },
    {
      name: 'a ratio of 1',
      flags: { 'workload-cert-grace-period-ratio': '1' },
      message: /^--workload-cert-grace-period-ratio: "1" must be a number between 0 and 1/,
    },
    {
      name: 'an unknown key algorithm',
      flags: { 'key-algorithm': 'rsa-1024' },
      message: /^--key-algorithm: "rsa-1024" is not one of ecdsa-p256/,
    },
    {
      name: 'a signing cert without key',
      flags: { 'signing-cert': 'a.pem' },
      message: /^--signing-key: is required/,
    },
    {
      name: 'a root cert without signing files',
      flags: { 'root-cert': 'r.pem' },
      message: /^--root-cert: needs --signing-cert/,
    },
    {
      name: 'a bad trust domain',
      flags: { 'trust-domain': 'Not Valid' },
      message: /^--trust-domain: "Not Valid"/,
    },
  ];
  for (const c of bad) {
    it(`refuses ${c.name}, naming the flag`, () => {
      assert.throws(
        () => parseCaConfig(c.flags, {}),
        (e: unknown) =>
          isIstioLiteError(e) && e.code === ErrorCode.Usage && c.message.test(e.message),
      );
    });
  }
});
