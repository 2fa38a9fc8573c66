import assert from 'node:assert/strict';
import type { V1Service, V1ServicePort } from '@kubernetes/client-node';
import {
  parseWorkloadEntryObject,
  selectingService,
  workloadEntryEndpoints,
  type WorkloadEntryInfo,
} from './workload-entries.ts';

function service(ports: V1ServicePort[], selector?: Record<string, string>): V1Service {
  return {
    metadata: { name: 'reviews', namespace: 'bookinfo' },
    spec: { ports, ...(selector ? { selector } : {}) },
  };
}

function entry(
  name: string,
  spec: Record<string, unknown>,
  namespace = 'bookinfo',
): WorkloadEntryInfo {
  return parseWorkloadEntryObject({ metadata: { name, namespace }, spec });
}

describe('WorkloadEntries selected by Services', () => {
  const svc = selectingService(
    service(
      [
        { name: 'http', port: 9080, targetPort: 'web' },
        { name: 'tcp-db', port: 3306 },
      ],
      { app: 'reviews' },
    ),
  )!;

  it('serves every port of a selecting service, with labels, service account, mTLS, locality and weight', () => {
    const eps = workloadEntryEndpoints(svc, [
      entry('vm-1', {
        address: '10.0.0.5',
        ports: { web: 8080 },
        labels: { app: 'reviews', version: 'v3' },
        serviceAccount: 'reviews',
        locality: 'us-east/us-east-1a',
        weight: 3,
      }),
    ]);
    assert.deepEqual(
      eps.map((e) => [e.address, e.port, e.servicePortName]),
      [
        ['10.0.0.5', 3306, 'tcp-db'],
        ['10.0.0.5', 8080, 'http'],
      ],
    );
    const e = eps[1]!;
    assert.equal(e.serviceAccount, 'reviews');
    assert.equal(e.tlsMode, 'istio');
    assert.deepEqual(e.labels, { app: 'reviews', version: 'v3' });
    assert.deepEqual(e.locality, { region: 'us-east', zone: 'us-east-1a', subzone: '' });
    assert.equal(e.weight, 3);
    assert.equal(e.ready, true);
  });

  it('prefers the entry port named like the service port, then a numeric targetPort', () => {
    const s = selectingService(
      service([{ name: 'http', port: 80, targetPort: 9080 }], { app: 'r' }),
    )!;
    const byName = workloadEntryEndpoints(s, [
      entry('a', { address: '10.0.0.1', ports: { http: 7000 }, labels: { app: 'r' } }),
    ]);
    assert.equal(byName[0]?.port, 7000);
    const byTarget = workloadEntryEndpoints(s, [
      entry('a', { address: '10.0.0.1', labels: { app: 'r' } }),
    ]);
    assert.equal(byTarget[0]?.port, 9080);
  });

  it('leaves out a port whose named targetPort the entry does not have', () => {
    const eps = workloadEntryEndpoints(svc, [
      entry('a', { address: '10.0.0.1', labels: { app: 'reviews' } }),
    ]);
    assert.deepEqual(
      eps.map((e) => e.servicePortName),
      ['tcp-db'],
    );
  });

  it('selects only entries of its namespace whose labels match', () => {
    const eps = workloadEntryEndpoints(svc, [
      entry('other-labels', { address: '10.0.0.1', labels: { app: 'ratings' } }),
      entry('other-ns', { address: '10.0.0.2', labels: { app: 'reviews' } }, 'default'),
      entry('yes', { address: '10.0.0.3', labels: { app: 'reviews', extra: 'x' } }),
    ]);
    assert.deepEqual([...new Set(eps.map((e) => e.address))], ['10.0.0.3']);
  });

  it('gives no mTLS to an entry without a service account, unless its tlsMode label says so', () => {
    const plain = workloadEntryEndpoints(svc, [
      entry('a', { address: '10.0.0.1', labels: { app: 'reviews' } }),
    ]);
    assert.equal(plain[0]?.tlsMode, 'disabled');
    assert.equal(plain[0].serviceAccount, undefined);
    const labelled = workloadEntryEndpoints(svc, [
      entry('a', {
        address: '10.0.0.1',
        labels: { app: 'reviews', 'security.istio.io/tlsMode': 'istio' },
      }),
    ]);
    assert.equal(labelled[0]?.tlsMode, 'istio');
    const optedOut = workloadEntryEndpoints(svc, [
      entry('a', {
        address: '10.0.0.1',
        serviceAccount: 'x',
        labels: { app: 'reviews', 'security.istio.io/tlsMode': 'disabled' },
      }),
    ]);
    assert.equal(optedOut[0]?.tlsMode, 'disabled');
  });

  it('is not a selecting service without a selector', () => {
    assert.equal(selectingService(service([{ name: 'http', port: 80 }])), undefined);
    assert.equal(selectingService(service([{ name: 'http', port: 80 }], {})), undefined);
  });

  it('refuses a malformed entry naming the field', () => {
    assert.throws(() => entry('a', { address: 'db.example' }), /spec\.address.*not an IP/);
    assert.throws(
      () => entry('a', { address: '10.0.0.1', ports: { http: 0 } }),
      /spec\.ports\.http/,
    );
    assert.throws(() => entry('a', { address: '10.0.0.1', weight: -1 }), /spec\.weight/);
    assert.throws(
      () => entry('a', { address: '10.0.0.1', bogus: 1 }),
      /spec\.bogus.*unknown field/,
    );
    assert.throws(() => entry('a', { ports: {} }), /spec\.address/);
  });
});
