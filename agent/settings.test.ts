import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { hostAddress, parseAgentConfig, type AgentFlag } from './settings.ts';

const env = {
  POD_NAME: 'reviews-1',
  POD_NAMESPACE: 'shop',
  INSTANCE_IP: '10.1.0.1',
  HOST_IP: '192.168.0.2',
  SERVICE_ACCOUNT: 'reviews',
};

/** The flags webhook/sidecar.ts writes for the mesh defaults. */
const injected: Partial<Record<AgentFlag, string>> = {
  configPath: '/etc/istio/proxy',
  binaryPath: '/usr/local/bin/envoy',
  serviceCluster: 'reviews',
  drainDuration: '45s',
  parentShutdownDuration: '1m0s',
  discoveryAddress: 'istio-pilot.istio-system:15010',
  connectTimeout: '10s',
  proxyAdminPort: '15000',
  statusPort: '15020',
  concurrency: '2',
  proxyLogLevel: 'warning',
  zipkinAddress: 'zipkin.istio-system:9411',
};

describe('agent config', () => {
  it('reads the flags the injector writes', () => {
    const c = parseAgentConfig('sidecar', injected, env);
    assert.equal(c.serviceCluster, 'reviews');
    assert.equal(c.drainMs, 45_000);
    assert.equal(c.parentShutdownMs, 60_000);
    assert.equal(c.connectTimeoutMs, 10_000);
    assert.equal(c.zipkinAddress, 'zipkin.istio-system:9411');
    assert.equal(c.statsdUdpAddress, undefined);
    assert.equal(c.mixerAddress, undefined);
    assert.equal(c.caAddress, undefined);
    assert.equal(c.readinessPort, 15021);
    assert.equal(c.domain, 'shop.svc.cluster.local');
    assert.deepEqual(c.pod, {
      name: 'reviews-1',
      namespace: 'shop',
      ip: '10.1.0.1',
      hostIp: '192.168.0.2',
      serviceAccount: 'reviews',
    });
    assert.equal(c.sockets.sds, '/etc/istio/proxy/SDS');
    assert.equal(c.appProbers.size, 0);
  });

  it('reads ISTIO_KUBE_APP_PROBERS and ISTIO_META_*', () => {
    const probers = JSON.stringify({
      '/app-health/app/readyz': { httpGet: { path: 'ready', port: 8080 }, timeoutSeconds: 2 },
      '/app-health/app/livez': { tcpSocket: { port: 8080 } },
      '/app-health/grpc-app/startupz': { grpc: { port: 9000, service: 'x' } },
    });
    const c = parseAgentConfig(
      'router',
      {},
      { ...env, ISTIO_KUBE_APP_PROBERS: probers, ISTIO_META_DNS_CAPTURE: 'true' },
    );
    assert.deepEqual(c.appProbers.get('/app-health/app/readyz'), {
      kind: 'http',
      host: undefined,
      port: 8080,
      path: '/ready',
      scheme: 'HTTP',
      headers: [],
      timeoutMs: 2000,
    });
    assert.equal(c.appProbers.get('/app-health/app/livez')?.kind, 'tcp');
    assert.equal(c.appProbers.get('/app-health/grpc-app/startupz')?.kind, 'grpc');
    assert.deepEqual(c.extraMetadata, { DNS_CAPTURE: 'true' });
  });

  it('on a VM, takes the host name and the first non-loopback address when POD_NAME and INSTANCE_IP are unset', () => {
    const vm: Record<string, string> = { ...env };
    delete vm['POD_NAME'];
    delete vm['INSTANCE_IP'];
    const c = parseAgentConfig('sidecar', injected, vm);
    assert.equal(c.pod.name, hostname());
    assert.equal(c.pod.ip, hostAddress());
    assert.equal(
      hostAddress({
        lo: [
          {
            address: '127.0.0.1',
            family: 'IPv4',
            internal: true,
            netmask: '',
            mac: '',
            cidr: null,
          },
        ],
        eth0: [
          {
            address: 'fe80::1',
            family: 'IPv6',
            internal: false,
            netmask: '',
            mac: '',
            cidr: null,
            scopeid: 2,
          },
          {
            address: '10.9.0.4',
            family: 'IPv4',
            internal: false,
            netmask: '',
            mac: '',
            cidr: null,
          },
        ],
      }),
      '10.9.0.4',
    );
    assert.throws(
      () =>
        hostAddress({
          lo: [
            {
              address: '127.0.0.1',
              family: 'IPv4',
              internal: true,
              netmask: '',
              mac: '',
              cidr: null,
            },
          ],
        }),
      /INSTANCE_IP is not set and this host has no address but loopback/,
    );
  });

  const bad: {
    name: string;
    flags?: Partial<Record<AgentFlag, string>>;
    env?: object;
    want: RegExp;
  }[] = [
    { name: 'a bad duration', flags: { drainDuration: '45' }, want: /--drainDuration: "45"/ },
    { name: 'a bad port', flags: { proxyAdminPort: '70000' }, want: /--proxyAdminPort/ },
    { name: 'a bad address', flags: { discoveryAddress: 'pilot' }, want: /--discoveryAddress/ },
    { name: 'a bad log level', flags: { proxyLogLevel: 'loud' }, want: /--proxyLogLevel/ },
    { name: 'a bad boolean', flags: { mixerFailOpen: 'yes' }, want: /--mixerFailOpen/ },
    { name: 'a bad concurrency', flags: { concurrency: '-1' }, want: /--concurrency/ },
    { name: 'no POD_NAME', env: { POD_NAME: '' }, want: /POD_NAME is not set/ },
    { name: 'a bad INSTANCE_IP', env: { INSTANCE_IP: 'pod' }, want: /INSTANCE_IP: "pod"/ },
    {
      name: 'a prober with no action',
      env: { ISTIO_KUBE_APP_PROBERS: '{"/app-health/a/readyz":{"exec":{}}}' },
      want: /ISTIO_KUBE_APP_PROBERS: \/app-health\/a\/readyz: needs one of/,
    },
    {
      name: 'a prober path of another form',
      env: { ISTIO_KUBE_APP_PROBERS: '{"/healthz":{"tcpSocket":{"port":1}}}' },
      want: /\/healthz: not an \/app-health/,
    },
    {
      name: 'probers that are not JSON',
      env: { ISTIO_KUBE_APP_PROBERS: '{' },
      want: /ISTIO_KUBE_APP_PROBERS: not valid JSON/,
    },
  ];
  for (const b of bad) {
    it(`refuses ${b.name}, naming it`, () => {
      assert.throws(
        () => parseAgentConfig('sidecar', { ...injected, ...b.flags }, { ...env, ...b.env }),
        (e: unknown) => e instanceof Error && b.want.test(e.message),
      );
    });
  }
});
