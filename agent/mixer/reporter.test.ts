import assert from 'node:assert/strict';
import { IpAddress, type Value } from '../../lib/mixer/value.ts';
import { encodeMessage } from '../../lib/xds/protos.ts';
import { loadAgentProtos } from '../testing/envoy-protos.ts';
import { decodeAlsMessage } from './envoy-wire.ts';
import { reporterFor } from './reporter.ts';

const sock = (address: string, port: number) => ({ socket_address: { address, port_value: port } });
const pod = (name: string, ip: string) => ({
  name,
  namespace: 'istio-system',
  ip,
  hostIp: '',
  serviceAccount: name,
});

/** What Envoy's HTTP ext_authz filter sends from a listener Pilot configured. */
function check(context: Record<string, string>): Uint8Array {
  loadAgentProtos();
  return encodeMessage('envoy.service.auth.v3.CheckRequest', {
    attributes: {
      source: { address: sock('203.0.113.7', 51000) },
      destination: { address: sock('10.8.0.5', 8080) },
      request: {
        http: { method: 'GET', path: '/api/x', host: 'shop.example.com', headers: {} },
      },
      context_extensions: context,
    },
  });
}

function logs(tags: Record<string, string>) {
  loadAgentProtos();
  const common = {
    downstream_remote_address: sock('203.0.113.7', 51000),
    downstream_local_address: sock('10.8.0.5', 8080),
    upstream_remote_address: sock('10.9.0.3', 9080),
    upstream_cluster: 'outbound|9080||reviews.shop.svc.cluster.local',
    custom_tags: tags,
  };
  return decodeAlsMessage(
    encodeMessage('envoy.service.accesslog.v3.StreamAccessLogsMessage', {
      http_logs: {
        log_entry: [
          {
            common_properties: common,
            request: { authority: 'shop.example.com', path: '/api/x' },
            response: { response_code: { value: 200 } },
          },
        ],
      },
      tcp_logs: {
        log_entry: [
          {
            common_properties: common,
            connection_properties: { received_bytes: 10, sent_bytes: 20 },
          },
        ],
      },
    }),
  );
}

function ip(bag: ReadonlyMap<string, Value>, name: string): string | undefined {
  const v = bag.get(name);
  return v instanceof IpAddress ? v.toString() : undefined;
}

describe('agent/mixer reporter: who reports', () => {
  it('a sidecar adds its uid and keeps what Envoy saw', () => {
    const r = reporterFor('sidecar', pod('reviews-1', '10.8.0.5'));
    const { bag } = r.fromAuthz(check({ 'context.reporter.kind': 'inbound' }));
    assert.equal(bag.get('context.reporter.uid'), 'kubernetes://reviews-1.istio-system');
    assert.equal(bag.get('context.reporter.kind'), 'inbound');
    assert.equal(ip(bag, 'source.ip'), '203.0.113.7');
    assert.equal(ip(bag, 'destination.ip'), '10.8.0.5');
    assert.equal(bag.has('origin.ip'), false);
  });

  it('a gateway check: the gateway is the source, the client the origin, the route the destination', () => {
    const r = reporterFor('router', pod('istio-ingress-1', '10.8.0.5'));
    const { bag } = r.fromAuthz(
      check({
        'context.reporter.kind': 'outbound',
        'destination.service': 'reviews.shop.svc.cluster.local',
      }),
    );
    assert.equal(bag.get('context.reporter.kind'), 'outbound');
    assert.equal(bag.get('context.reporter.uid'), 'kubernetes://istio-ingress-1.istio-system');
    // Mixer names the pod at source.ip (uid, name, namespace, labels), as for a sidecar's peers.
    assert.ok(bag.get('source.ip') instanceof IpAddress);
    assert.equal(bag.has('source.port'), false);
    assert.equal(bag.has('source.principal'), false);
    assert.equal(ip(bag, 'source.ip'), '10.8.0.5');
    assert.equal(ip(bag, 'origin.ip'), '203.0.113.7');
    assert.equal(bag.get('destination.service'), 'reviews.shop.svc.cluster.local');
    // Before routing the upstream is unknown; the listener's own address is not the destination.
    assert.equal(bag.has('destination.ip'), false);
    assert.equal(bag.has('destination.port'), false);
    assert.equal(bag.get('request.path'), '/api/x');
  });

  it('gateway access logs (HTTP and TCP): destination is the upstream host', () => {
    const r = reporterFor('router', pod('istio-egress-1', '10.8.0.6'));
    const m = logs({ 'context.reporter.kind': 'outbound' });
    const entries = [...m.http.map((e) => r.fromHttpLog(e)), ...m.tcp.map((e) => r.fromTcpLog(e))];
    assert.equal(entries.length, 2);
    for (const bag of entries) {
      assert.equal(bag.get('context.reporter.kind'), 'outbound');
      assert.equal(bag.get('context.reporter.uid'), 'kubernetes://istio-egress-1.istio-system');
      assert.equal(ip(bag, 'source.ip'), '10.8.0.6');
      assert.equal(ip(bag, 'origin.ip'), '203.0.113.7');
      assert.equal(ip(bag, 'destination.ip'), '10.9.0.3');
      assert.equal(bag.get('destination.port'), 9080);
      assert.equal(bag.get('destination.service'), 'reviews.shop.svc.cluster.local');
    }
    assert.equal(entries[0]?.get('response.code'), 200);
    assert.equal(entries[1]?.get('connection.sent.bytes_total'), 20);
  });

  it('sidecar access logs are unchanged: the local address is the destination', () => {
    const r = reporterFor('sidecar', pod('reviews-1', '10.8.0.5'));
    const bag = r.fromHttpLog(logs({ 'context.reporter.kind': 'inbound' }).http[0]);
    assert.equal(ip(bag, 'source.ip'), '203.0.113.7');
    assert.equal(ip(bag, 'destination.ip'), '10.8.0.5');
    assert.equal(bag.get('context.reporter.uid'), 'kubernetes://reviews-1.istio-system');
  });
});
