/**
 * EgressRule fields to what sidecars and the egress gateway get: clusters per external host and
 * port (DNS or original destination, TLS origination for HTTPS, HTTP/2 for gRPC), the outbound
 * listener's HTTP ports, virtual hosts, and the path through the egress gateway.
 */
import assert from 'node:assert/strict';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import type { Proxy } from '../model/proxy.ts';
import type { ProxySnapshot } from '../snapshot/proxy-snapshot.ts';
import {
  allResources,
  assertEnvoyAccepts,
  assertGrpcAccepts,
  at,
  resourceJson,
  type Json,
} from '../testing/resource-checks.ts';
import { crd, host, trafficProxies, trafficSnapshot } from '../testing/traffic-fixture.ts';

const sidecar = trafficProxies['productpage'] as Proxy;
const egressGw = trafficProxies['egress'] as Proxy;

function snap(objects: readonly object[], proxy: Proxy = sidecar): ProxySnapshot {
  const s = trafficSnapshot(objects, proxy);
  for (const r of allResources(s)) {
    assertEnvoyAccepts(r);
    if (proxy.kind === 'grpc') assertGrpcAccepts(r);
  }
  return s;
}

const egress = (name: string, service: string, ports: object[], useEgressProxy = false) =>
  crd('EgressRule', name, { destination: { service }, ports, useEgressProxy });

function vhost(s: ProxySnapshot, port: number, name: string): Json | undefined {
  const rc = resourceJson(s, TypeUrl.RouteConfiguration, String(port));
  return (rc['virtual_hosts'] as Json[]).find((h) => h['name'] === name);
}

function chain(s: ProxySnapshot, port: number): Json | undefined {
  const l = resourceJson(s, TypeUrl.Listener, 'virtualOutbound');
  return (l['filter_chains'] as Json[]).find((c) => c['name'] === `0.0.0.0_${port}`);
}

describe('EgressRule to sidecars and the egress gateway', () => {
  it('HTTP on an exact host: a DNS cluster, and a virtual host on the port', () => {
    const s = snap([egress('api', 'api.foo.com', [{ port: 80, protocol: 'http' }])]);
    const c = resourceJson(s, TypeUrl.Cluster, 'outbound|80||api.foo.com');
    assert.equal(c['type'], 'STRICT_DNS');
    assert.equal(c['dns_lookup_family'], 'V4_ONLY');
    assert.deepEqual(
      at(
        c,
        'load_assignment',
        'endpoints',
        0,
        'lb_endpoints',
        0,
        'endpoint',
        'address',
        'socket_address',
      ),
      { address: 'api.foo.com', port_value: 80 },
    );
    assert.equal(c['transport_socket'], undefined);
    const vh = vhost(s, 80, 'api.foo.com:80');
    assert.deepEqual(vh?.['domains'], ['api.foo.com', 'api.foo.com:80']);
    assert.equal(at(vh, 'routes', 0, 'route', 'cluster'), 'outbound|80||api.foo.com');
  });

  it('an HTTP port no mesh service has gets an HTTP chain on the outbound listener', () => {
    const before = snap([]);
    assert.equal(chain(before, 8000), undefined);
    const s = snap([egress('api', 'api.foo.com', [{ port: 8000, protocol: 'HTTP' }])]);
    assert.deepEqual(at(chain(s, 8000), 'filter_chain_match'), {
      destination_port: { value: 8000 },
    });
    assert.ok(vhost(s, 8000, 'api.foo.com:8000'));
  });

  it('HTTPS: the sidecar originates TLS, checking the host, for plain HTTP from the app', () => {
    const s = snap([egress('api', 'api.foo.com', [{ port: 443, protocol: 'https' }])]);
    const c = resourceJson(s, TypeUrl.Cluster, 'outbound|443||api.foo.com');
    const tls = at(c, 'transport_socket', 'typed_config') as Json;
    assert.equal(tls['sni'], 'api.foo.com');
    assert.deepEqual(at(tls, 'common_tls_context', 'validation_context'), {
      trusted_ca: { filename: '/etc/ssl/certs/ca-certificates.crt' },
      match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'api.foo.com' } }],
    });
    // Plain HTTP on 443 is the app's; TLS it makes itself still passes through.
    assert.deepEqual(at(chain(s, 443), 'filter_chain_match'), {
      destination_port: { value: 443 },
      transport_protocol: 'raw_buffer',
    });
    const l = resourceJson(s, TypeUrl.Listener, 'virtualOutbound');
    const inspector = (l['listener_filters'] as Json[]).find(
      (f) => f['name'] === 'envoy.filters.listener.tls_inspector',
    );
    assert.deepEqual(inspector?.['filter_disabled'], {
      not_match: { destination_port_range: { start: 443, end: 444 } },
    });
  });

  it('a wildcard host: the original destination, SNI and SAN from the request', () => {
    const s = snap([egress('foo', '*.foo.com', [{ port: 443, protocol: 'https' }])]);
    const c = resourceJson(s, TypeUrl.Cluster, 'outbound|443||*.foo.com');
    assert.equal(c['type'], 'ORIGINAL_DST');
    assert.equal(c['lb_policy'], 'CLUSTER_PROVIDED');
    const opts = at(
      c,
      'typed_extension_protocol_options',
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
    );
    assert.deepEqual(at(opts, 'upstream_http_protocol_options'), {
      auto_sni: true,
      auto_san_validation: true,
    });
    assert.equal(at(c, 'transport_socket', 'typed_config', 'sni'), undefined);
    assert.deepEqual(vhost(s, 443, '*.foo.com:443')?.['domains'], ['*.foo.com', '*.foo.com:443']);
  });

  it('GRPC: HTTP/2 upstream', () => {
    const s = snap([egress('g', 'grpc.foo.com', [{ port: 9000, protocol: 'grpc' }])]);
    const c = resourceJson(s, TypeUrl.Cluster, 'outbound|9000||grpc.foo.com');
    assert.deepEqual(
      at(
        c,
        'typed_extension_protocol_options',
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        'explicit_http_config',
      ),
      { http2_protocol_options: {} },
    );
  });

  it('RouteRules and DestinationPolicies name external hosts by service', () => {
    const s = snap([
      egress('api', 'api.foo.com', [{ port: 80, protocol: 'http' }]),
      crd('RouteRule', 'api-timeout', {
        destination: { service: 'api.foo.com' },
        httpReqTimeout: { simpleTimeout: { timeout: '3s' } },
      }),
      crd('DestinationPolicy', 'api-cb', {
        destination: { service: 'api.foo.com' },
        circuitBreaker: { simpleCb: { maxConnections: 5 } },
      }),
    ]);
    const vh = vhost(s, 80, 'api.foo.com:80');
    assert.deepEqual(at(vh, 'routes', 0, 'route', 'timeout'), { seconds: '3', nanos: 0 });
    const c = resourceJson(s, TypeUrl.Cluster, 'outbound|80||api.foo.com');
    assert.deepEqual(at(c, 'circuit_breakers', 'thresholds', 0, 'max_connections'), { value: 5 });
  });

  it('useEgressProxy: sidecars send to the egress gateway, marking the port', () => {
    const rule = egress('api', 'api.foo.com', [{ port: 443, protocol: 'https' }], true);
    const s = snap([rule]);
    const vh = vhost(s, 443, 'api.foo.com:443');
    const gw = `outbound|80||${host('istio-egress', 'istio-system')}`;
    assert.equal(at(vh, 'routes', 0, 'route', 'cluster'), gw);
    assert.deepEqual(vh?.['request_headers_to_add'], [
      {
        header: { key: 'x-istio-lite-egress-port', value: '443' },
        append_action: 'OVERWRITE_IF_EXISTS_OR_ADD',
      },
    ]);
    assert.equal(s.resources.get(TypeUrl.Cluster)?.get('outbound|443||api.foo.com'), undefined);
    // The gateway listens on its service's target port and picks the cluster by host and port.
    const g = snap([rule], egressGw);
    const l = resourceJson(g, TypeUrl.Listener, 'egress-gateway_8080');
    assert.equal(at(l, 'address', 'socket_address', 'port_value'), 8080);
    const rc = resourceJson(g, TypeUrl.RouteConfiguration, 'egress-gateway');
    assert.deepEqual(at(rc, 'virtual_hosts', 0, 'routes', 0, 'match'), {
      prefix: '/',
      headers: [{ name: 'x-istio-lite-egress-port', string_match: { exact: '443' } }],
    });
    assert.equal(
      at(rc, 'virtual_hosts', 0, 'routes', 0, 'route', 'cluster'),
      'outbound|443||api.foo.com',
    );
    assert.deepEqual(at(rc, 'virtual_hosts', 0, 'request_headers_to_remove'), [
      'x-istio-lite-egress-port',
    ]);
    assert.ok(resourceJson(g, TypeUrl.Cluster, 'outbound|443||api.foo.com')['transport_socket']);
  });

  it("a RouteRule for a proxied host keeps its shares on the gateway's path", () => {
    const s = snap([
      egress('api', 'api.foo.com', [{ port: 80, protocol: 'http' }], true),
      crd('RouteRule', 'api', {
        destination: { service: 'api.foo.com' },
        route: [{ weight: 100 }],
        httpReqRetries: { simpleRetry: { attempts: 2 } },
      }),
    ]);
    const vh = vhost(s, 80, 'api.foo.com:80');
    const gw = `outbound|80||${host('istio-egress', 'istio-system')}`;
    assert.equal(at(vh, 'routes', 0, 'route', 'cluster'), gw);
    assert.deepEqual(at(vh, 'routes', 0, 'route', 'retry_policy', 'num_retries'), { value: 2 });
  });

  it('proxyless clients get no egress resources, and still accept everything', () => {
    const s = snap(
      [egress('api', 'api.foo.com', [{ port: 80, protocol: 'http' }])],
      trafficProxies['grpc'],
    );
    assert.equal(s.resources.get(TypeUrl.Cluster)?.get('outbound|80||api.foo.com'), undefined);
  });
});
