import assert from 'node:assert/strict';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { convertEndpoints, convertService, podInfo } from './convert.ts';

describe('Kubernetes objects to the service model', () => {
  const serviceCases: { name: string; input: V1Service; want: unknown }[] = [
    {
      name: 'a ClusterIP service, protocols from names and appProtocol',
      input: {
        metadata: { name: 'web', namespace: 'shop' },
        spec: {
          clusterIP: '10.0.0.5',
          ports: [
            { name: 'http-web', port: 80 },
            { name: 'api', port: 9000, appProtocol: 'grpc' },
            { name: 'dns', port: 53, protocol: 'UDP' },
            { port: 6379, name: 'redis' },
          ],
        },
      },
      want: {
        hostname: 'web.shop.svc.cluster.local',
        name: 'web',
        namespace: 'shop',
        clusterIP: '10.0.0.5',
        ports: [
          { name: 'http-web', port: 80, protocol: 'HTTP' },
          { name: 'api', port: 9000, protocol: 'GRPC' },
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'redis', port: 6379, protocol: 'REDIS' },
        ],
        registry: 'Kubernetes',
      },
    },
    {
      name: 'a headless service has no cluster IP',
      input: {
        metadata: { name: 'db', namespace: 'a' },
        spec: { clusterIP: 'None', ports: [{ port: 5432 }] },
      },
      want: {
        hostname: 'db.a.svc.cluster.local',
        name: 'db',
        namespace: 'a',
        clusterIP: undefined,
        ports: [{ name: '', port: 5432, protocol: 'TCP' }],
        registry: 'Kubernetes',
      },
    },
    {
      name: 'ExternalName services are skipped',
      input: {
        metadata: { name: 'x', namespace: 'a' },
        spec: { type: 'ExternalName', externalName: 'x.com' },
      },
      want: { skip: 'ExternalName services have no endpoints' },
    },
    {
      name: 'a bad cluster IP is skipped, not trusted',
      input: { metadata: { name: 'x', namespace: 'a' }, spec: { clusterIP: 'nope' } },
      want: { skip: 'clusterIP "nope" is not an IP' },
    },
  ];
  for (const c of serviceCases) {
    it(c.name, () => {
      assert.deepEqual(convertService(c.input, 'cluster.local'), c.want);
    });
  }

  it('expands slices into endpoints per port, with pod details, readiness and locality', () => {
    const slices: V1EndpointSlice[] = [
      {
        addressType: 'IPv4',
        metadata: { name: 's1' },
        ports: [
          { name: 'http', port: 8080 },
          { name: 'bad', port: 70000 },
        ],
        endpoints: [
          {
            addresses: ['10.1.0.2'],
            zone: 'z1',
            targetRef: { kind: 'Pod', name: 'p1', namespace: 'ns' },
          },
          { addresses: ['10.1.0.1'], conditions: { ready: false } },
          { addresses: ['10.1.0.3'], conditions: { ready: true, terminating: true } },
          { addresses: ['not-an-ip'] },
        ],
      },
      {
        addressType: 'FQDN',
        metadata: { name: 's2' },
        endpoints: [{ addresses: ['x.example.com'] }],
      },
    ];
    const info = podInfo({
      metadata: {
        labels: { 'security.istio.io/tlsMode': 'istio', 'topology.kubernetes.io/region': 'eu' },
      },
      spec: { serviceAccountName: 'web', containers: [] },
    });
    const eps = convertEndpoints(slices, (k) => (k === 'ns/p1' ? info : undefined));
    assert.deepEqual(
      eps.map((e) => [
        e.address,
        e.port,
        e.servicePortName,
        e.ready,
        e.tlsMode,
        e.serviceAccount,
        e.pod,
      ]),
      [
        ['10.1.0.1', 8080, 'http', false, 'disabled', undefined, undefined],
        ['10.1.0.2', 8080, 'http', true, 'istio', 'web', 'p1.ns'],
        ['10.1.0.3', 8080, 'http', false, 'disabled', undefined, undefined],
      ],
    );
    assert.deepEqual(eps[1]?.locality, { region: 'eu', zone: 'z1', subzone: '' });
  });

  it("takes the slice's namespace for a targetRef that has none", () => {
    const slices: V1EndpointSlice[] = [
      {
        addressType: 'IPv4',
        metadata: { name: 's1', namespace: 'ns' },
        ports: [{ name: 'http', port: 8080 }],
        endpoints: [{ addresses: ['10.1.0.2'], targetRef: { kind: 'Pod', name: 'p1' } }],
      },
    ];
    const info = podInfo({
      metadata: { labels: { 'security.istio.io/tlsMode': 'istio', version: 'v2' } },
      spec: { serviceAccountName: 'web', containers: [] },
    });
    const eps = convertEndpoints(slices, (k) => (k === 'ns/p1' ? info : undefined));
    assert.deepEqual(
      eps.map((e) => [e.address, e.tlsMode, e.serviceAccount, e.pod, e.labels['version']]),
      [['10.1.0.2', 'istio', 'web', 'p1.ns', 'v2']],
    );
  });
});
