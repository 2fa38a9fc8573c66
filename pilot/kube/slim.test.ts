import assert from 'node:assert/strict';
import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';
import { convertEndpoints, convertService, podInfo } from './convert.ts';
import { slimEndpointSlice, slimPod, slimService, slimWorkloadEntry } from './slim.ts';
import { parseWorkloadEntryObject, selectingService } from './workload-entries.ts';

/** Objects as the API server sends them, with the fields Pilot never reads. */
const managed = [{ manager: 'kubectl', operation: 'Update', fieldsV1: { 'f:spec': {} } }];

const service: V1Service = {
  metadata: {
    name: 'web',
    namespace: 'shop',
    resourceVersion: '12',
    uid: 'u1',
    labels: { app: 'web' },
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"json"}' },
    managedFields: managed,
  },
  spec: {
    type: 'ClusterIP',
    clusterIP: '10.0.0.5',
    clusterIPs: ['10.0.0.5'],
    selector: { app: 'web' },
    sessionAffinity: 'None',
    ports: [
      { name: 'http-web', port: 80, targetPort: 8080, protocol: 'TCP' },
      { name: 'api', port: 9000, targetPort: 'grpc', appProtocol: 'grpc', protocol: 'TCP' },
    ],
  },
  status: { loadBalancer: {} },
};

const slice: V1EndpointSlice = {
  metadata: {
    name: 'web-abc',
    namespace: 'shop',
    resourceVersion: '13',
    labels: {
      'kubernetes.io/service-name': 'web',
      'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
    },
    managedFields: managed,
  },
  addressType: 'IPv4',
  ports: [
    { name: 'http-web', port: 8080, protocol: 'TCP' },
    { name: 'api', port: 9090, protocol: 'TCP' },
  ],
  endpoints: [
    {
      addresses: ['10.1.0.1'],
      conditions: { ready: true, serving: true, terminating: false },
      nodeName: 'node-a',
      zone: 'z1',
      targetRef: { kind: 'Pod', name: 'web-1', namespace: 'shop', uid: 'p1' },
    },
    {
      addresses: ['10.1.0.2'],
      conditions: { ready: false, serving: true, terminating: true },
      targetRef: { kind: 'Pod', name: 'web-2' },
    },
    { addresses: ['10.1.0.3'] },
  ],
};

const pod: V1Pod = {
  metadata: {
    name: 'web-1',
    namespace: 'shop',
    resourceVersion: '14',
    labels: {
      app: 'web',
      version: 'v1',
      'security.istio.io/tlsMode': 'istio',
      'topology.kubernetes.io/region': 'r1',
    },
    managedFields: managed,
  },
  spec: {
    serviceAccountName: 'web-sa',
    containers: [{ name: 'app', image: 'example/web:1', env: [{ name: 'A', value: 'b' }] }],
  },
  status: { podIP: '10.1.0.1', phase: 'Running' },
};

describe('what Pilot keeps of each object (slim.ts)', () => {
  it('keeps a Service as the registry reads it, and no more', () => {
    const slim = slimService(service);
    assert.deepEqual(
      convertService(slim, 'cluster.local'),
      convertService(service, 'cluster.local'),
    );
    assert.deepEqual(selectingService(slim), selectingService(service));
    assert.deepEqual(slim.metadata, { name: 'web', namespace: 'shop', resourceVersion: '12' });
    assert.equal(slim.status, undefined);
  });

  it('keeps an EndpointSlice as the registry reads it: endpoints, readiness, zones, pods', () => {
    const slim = slimEndpointSlice(slice);
    const info = podInfo(pod);
    const lookup = (k: string) => (k === 'shop/web-1' ? info : undefined);
    assert.deepEqual(convertEndpoints([slim], lookup), convertEndpoints([slice], lookup));
    assert.deepEqual(slim.metadata?.labels, { 'kubernetes.io/service-name': 'web' });
    assert.equal(slim.endpoints?.[0]?.nodeName, undefined);
  });

  it("keeps a pod's labels and service account, not its containers or status", () => {
    const slim = slimPod(pod);
    assert.deepEqual(podInfo(slim), podInfo(pod));
    assert.deepEqual(podInfo(slimPod({ metadata: { name: 'bare', namespace: 'a' } })), {
      labels: {},
      serviceAccount: 'default',
      tlsMode: 'disabled',
    });
    assert.deepEqual(slim.spec, { serviceAccountName: 'web-sa' });
    assert.equal(slim.status, undefined);
  });

  it("keeps a WorkloadEntry's spec", () => {
    const entry = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'WorkloadEntry',
      metadata: { name: 'vm-1', namespace: 'shop', resourceVersion: '15', managedFields: managed },
      spec: { address: '10.9.0.1', labels: { app: 'web' }, serviceAccount: 'web-sa' },
      status: { conditions: [] },
    };
    const slim = slimWorkloadEntry(entry);
    assert.deepEqual(parseWorkloadEntryObject(slim), parseWorkloadEntryObject(entry));
    assert.equal(slim.status, undefined);
  });
});
