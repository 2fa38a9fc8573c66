import assert from 'node:assert/strict';
import type { V1Node, V1Service } from '@kubernetes/client-node';
import {
  ControlPlane,
  nodeInternalIp,
  renderHosts,
  resolveReach,
  type Reach,
} from './addresses.ts';
import { parseAddressFlag } from './bundle-args.ts';

const cpns = 'istio-system';

function svc(
  name: string,
  type: string,
  port: { port: number; nodePort?: number },
  ingress?: { ip?: string; hostname?: string },
): V1Service {
  return {
    metadata: { name, namespace: cpns },
    spec: { type, ports: [{ name: 'grpc', ...port }] },
    ...(ingress === undefined ? {} : { status: { loadBalancer: { ingress: [ingress] } } }),
  };
}

function node(name: string, ip: string | undefined, ready: boolean): V1Node {
  return {
    metadata: { name },
    status: {
      addresses: [
        { type: 'Hostname', address: name },
        ...(ip === undefined ? [] : [{ type: 'InternalIP', address: ip }]),
      ],
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    },
  };
}

const nodes = [
  node('b', '10.0.0.2', true),
  node('a', '10.0.0.1', false),
  node('c', undefined, true),
];

const resolve = (
  c: (typeof ControlPlane)[keyof typeof ControlPlane],
  over: Partial<Parameters<typeof resolveReach>[1]>,
): Reach | undefined =>
  resolveReach(c, {
    flag: undefined,
    service: undefined,
    nodes: () => nodes,
    controlPlaneNamespace: cpns,
    optional: false,
    ...over,
  });

const must = (r: Reach | undefined): Reach => {
  assert.ok(r, 'an address');
  return r;
};

describe('control plane addresses for a VM', () => {
  it('takes an IP flag as the IP behind the Kubernetes name', () => {
    assert.deepEqual(
      resolve(ControlPlane.ca, { flag: parseAddressFlag('ca-address', '192.168.1.5:8060') }),
      {
        address: 'istio-ca.istio-system.svc:8060',
        hostsIp: '192.168.1.5',
        name: 'istio-ca.istio-system.svc',
        from: '--ca-address',
      },
    );
  });

  it('uses a host name flag as it is, with no hosts line', () => {
    const r = must(
      resolve(ControlPlane.pilot, {
        flag: parseAddressFlag('pilot-address', 'pilot.mesh.example.com:15010'),
      }),
    );
    assert.equal(r.address, 'pilot.mesh.example.com:15010');
    assert.equal(r.hostsIp, undefined);
  });

  it("takes a LoadBalancer's ingress IP with the Service port", () => {
    const r = must(
      resolve(ControlPlane.pilot, {
        service: svc(
          'istio-pilot-ilb',
          'LoadBalancer',
          { port: 15010, nodePort: 31000 },
          { ip: '10.1.0.9' },
        ),
      }),
    );
    assert.equal(r.address, 'istio-pilot.istio-system.svc:15010');
    assert.equal(r.hostsIp, '10.1.0.9');
    assert.match(r.from, /Service istio-system\/istio-pilot-ilb \(LoadBalancer\)/);
  });

  it("uses a LoadBalancer's ingress host name as it is", () => {
    const r = must(
      resolve(ControlPlane.ca, {
        service: svc(
          'istio-ca-ilb',
          'LoadBalancer',
          { port: 8060 },
          { hostname: 'lb.example.com' },
        ),
      }),
    );
    assert.equal(r.address, 'lb.example.com:8060');
  });

  it("takes a Ready node's InternalIP with the node port for a NodePort Service", () => {
    const r = must(
      resolve(ControlPlane.ca, {
        service: svc('istio-ca-ilb', 'NodePort', { port: 8060, nodePort: 30860 }),
      }),
    );
    assert.equal(r.address, 'istio-ca.istio-system.svc:30860');
    assert.equal(r.hostsIp, '10.0.0.2');
    assert.match(r.from, /NodePort on node b/);
    assert.deepEqual(nodeInternalIp([node('z', '10.0.0.9', false)]), { ip: '10.0.0.9', node: 'z' });
    assert.equal(nodeInternalIp([node('y', undefined, true)]), undefined);
  });

  const errors: {
    name: string;
    over: Partial<Parameters<typeof resolveReach>[1]>;
    message: RegExp;
  }[] = [
    {
      name: 'neither flag nor Service',
      over: {},
      message:
        /no address for the CA: pass --ca-address IP:PORT, or enable meshExpansion in the chart \(meshExpansion\.enabled=true creates Service istio-system\/istio-ca-ilb\)/,
    },
    {
      name: 'a ClusterIP Service',
      over: { service: svc('istio-ca-ilb', 'ClusterIP', { port: 8060 }) },
      message: /istio-ca-ilb is of type ClusterIP, which a VM cannot reach.*--ca-address/,
    },
    {
      name: 'a LoadBalancer still waiting for its address',
      over: { service: svc('istio-ca-ilb', 'LoadBalancer', { port: 8060, nodePort: 30860 }) },
      message:
        /LoadBalancer with no address yet: wait for one \(or use meshExpansion\.type=NodePort\), or pass --ca-address/,
    },
    {
      name: 'a NodePort Service and no node with an InternalIP',
      over: {
        service: svc('istio-ca-ilb', 'NodePort', { port: 8060, nodePort: 30860 }),
        nodes: () => [node('c', undefined, true)],
      },
      message: /is a NodePort, but no node has an InternalIP address, or pass --ca-address/,
    },
  ];
  for (const c of errors) {
    it(`refuses ${c.name}, naming the flag`, () => {
      assert.throws(() => resolve(ControlPlane.ca, c.over), c.message);
    });
  }

  it('leaves out an optional component (Mixer) with neither flag nor Service', () => {
    assert.equal(resolve(ControlPlane.mixer, { optional: true }), undefined);
  });

  it('writes one hosts line per IP, names in order, none for host names', () => {
    const reaches: Reach[] = [
      { address: 'a:1', hostsIp: '10.0.0.2', name: 'istio-pilot.istio-system.svc', from: '' },
      { address: 'b:1', name: 'istio-mixer.istio-system.svc', from: '' },
      { address: 'c:1', hostsIp: '10.0.0.3', name: 'istio-mixer.istio-system.svc', from: '' },
      { address: 'd:1', hostsIp: '10.0.0.2', name: 'istio-ca.istio-system.svc', from: '' },
    ];
    assert.equal(
      renderHosts(reaches),
      '10.0.0.2 istio-pilot.istio-system.svc istio-ca.istio-system.svc\n10.0.0.3 istio-mixer.istio-system.svc\n',
    );
  });
});

describe('address flags', () => {
  it('takes IP:PORT, [IPv6]:PORT and HOST:PORT', () => {
    assert.deepEqual(parseAddressFlag('ca-address', '10.0.0.1:8060'), {
      host: '10.0.0.1',
      port: 8060,
      isIp: true,
    });
    assert.deepEqual(parseAddressFlag('ca-address', '[fd00::1]:8060'), {
      host: 'fd00::1',
      port: 8060,
      isIp: true,
    });
    assert.deepEqual(parseAddressFlag('ca-address', 'ca.example.com:443'), {
      host: 'ca.example.com',
      port: 443,
      isIp: false,
    });
  });

  for (const bad of [
    '10.0.0.1',
    '10.0.0.1:0',
    '10.0.0.1:70000',
    'fd00::1:8060',
    '[10.0.0.1]:1',
    'a_b:1',
    ':8060',
  ]) {
    it(`refuses "${bad}", naming the flag`, () => {
      assert.throws(
        () => parseAddressFlag('ca-address', bad),
        (e: unknown) =>
          e instanceof Error && e.message.startsWith(`--ca-address: "${bad}" is not IP:PORT`),
      );
    });
  }
});
