import assert from 'node:assert/strict';
import {
  attributesFromAuthz,
  attributesFromHttpLog,
  attributesFromTcpLog,
  gatewayAttributesFromAuthz,
  gatewayAttributesFromHttpLog,
  gatewayAttributesFromTcpLog,
} from '../../lib/mixer/envoy-attributes.ts';
import { assertNoUnknownFields, decodeMessage, encodeMessage } from '../../lib/xds/protos.ts';
import { loadAgentProtos } from '../testing/envoy-protos.ts';
import { authzAttributes } from '../../lib/mixer/authz-wire.ts';
import { decodeAlsMessage, encodeAuthzResponse } from './envoy-wire.ts';
import { authzDecision } from './mixer-servers.ts';

const CheckRequest = 'envoy.service.auth.v3.CheckRequest';
const CheckResponse = 'envoy.service.auth.v3.CheckResponse';
const AlsMessage = 'envoy.service.accesslog.v3.StreamAccessLogsMessage';

const sock = (address: string, port: number) => ({ socket_address: { address, port_value: port } });

/** A CheckRequest as Envoy's HTTP ext_authz filter sends it, with fields we skip as well. */
const httpCheck = {
  attributes: {
    source: {
      address: sock('10.1.0.1', 45678),
      principal: 'spiffe://cluster.local/ns/shop/sa/productpage',
      labels: { app: 'productpage' },
      certificate: 'pem',
    },
    destination: {
      address: sock('10.1.0.2', 9080),
      principal: 'spiffe://cluster.local/ns/shop/sa/reviews',
      service: 'reviews',
    },
    request: {
      time: { seconds: 1_700_000_000, nanos: 5_000_000 },
      http: {
        id: 'req-1',
        method: 'GET',
        headers: { ':authority': 'reviews:9080', 'user-agent': 'curl/8', 'x-user': 'jason' },
        path: '/reviews/1?x=1',
        host: 'reviews:9080',
        scheme: 'http',
        query: 'x=1',
        size: 12,
        protocol: 'HTTP/1.1',
        body: 'ignored',
      },
    },
    context_extensions: {
      'destination.service': 'reviews.shop.svc.cluster.local',
      'source.labels.version': 'v1',
    },
    metadata_context: { filter_metadata: {} },
    tls_session: { sni: 'outbound_.9080_._.reviews.shop.svc.cluster.local' },
  },
};

const alsHttp = {
  identifier: {
    node: { id: 'sidecar~10.1.0.1~p.shop~shop.svc.cluster.local' },
    log_name: 'istio-lite-mixer-report',
  },
  http_logs: {
    log_entry: [
      {
        common_properties: {
          downstream_remote_address: sock('10.1.0.1', 45678),
          downstream_local_address: sock('10.1.0.2', 9080),
          start_time: { seconds: 1_700_000_000, nanos: 0 },
          time_to_last_downstream_tx_byte: { seconds: 0, nanos: 25_000_000 },
          upstream_remote_address: sock('10.1.0.9', 9080),
          upstream_cluster: 'outbound|9080||reviews.shop.svc.cluster.local',
          tls_properties: {
            peer_certificate_properties: {
              subject_alt_name: [{ uri: 'spiffe://cluster.local/ns/shop/sa/productpage' }],
            },
          },
          custom_tags: { 'source.labels.app': 'productpage' },
          route_name: 'skipped',
        },
        protocol_version: 'HTTP11',
        request: {
          request_method: 'POST',
          scheme: 'http',
          authority: 'reviews:9080',
          path: '/reviews',
          user_agent: 'curl/8',
          request_id: 'req-2',
          request_headers_bytes: 120,
          request_body_bytes: 30,
          request_headers: { 'x-user': 'jason' },
        },
        response: {
          response_code: { value: 201 },
          response_headers_bytes: 80,
          response_body_bytes: 7,
          response_headers: { 'content-type': 'text/plain' },
        },
      },
    ],
  },
};

const alsTcp = {
  tcp_logs: {
    log_entry: [
      {
        common_properties: {
          downstream_remote_address: sock('10.1.0.3', 5000),
          upstream_remote_address: sock('10.1.0.8', 27017),
          upstream_cluster: 'outbound|27017||db.shop.svc.cluster.local',
          duration: { seconds: 2, nanos: 0 },
        },
        connection_properties: { received_bytes: 1000, sent_bytes: 2000 },
      },
    ],
  },
};

describe("Envoy messages on the agent's small decoders", () => {
  before(() => {
    loadAgentProtos();
  });

  it('an ext_authz CheckRequest gives the same attributes as the full decode', () => {
    const bytes = encodeMessage(CheckRequest, httpCheck);
    const mine = authzAttributes(bytes).bag;
    const full = attributesFromAuthz(decodeMessage(CheckRequest, bytes));
    assert.deepEqual(mine.toMap(), full);
    assert.deepEqual(
      authzAttributes(bytes, true).bag.toMap(),
      gatewayAttributesFromAuthz(decodeMessage(CheckRequest, bytes)),
    );
    assert.equal(mine.get('request.path'), '/reviews/1?x=1');
    assert.equal(mine.get('destination.service'), 'reviews.shop.svc.cluster.local');
    assert.equal((mine.get('request.headers') as Map<string, string>).get('x-user'), 'jason');
  });

  it('a network-filter CheckRequest (no http) gives the same attributes', () => {
    const tcp = {
      attributes: {
        source: { address: sock('10.1.0.1', 1) },
        destination: { address: sock('10.1.0.5', 27017) },
      },
    };
    const bytes = encodeMessage(CheckRequest, tcp);
    assert.deepEqual(
      authzAttributes(bytes).bag.toMap(),
      attributesFromAuthz(decodeMessage(CheckRequest, bytes)),
    );
  });

  it('ALS HTTP and TCP entries give the same attributes as the full decode', () => {
    for (const m of [alsHttp, alsTcp]) {
      const bytes = encodeMessage(AlsMessage, m);
      const mine = decodeAlsMessage(bytes);
      const full = decodeMessage(AlsMessage, bytes) as {
        http_logs?: { log_entry: unknown[] };
        tcp_logs?: { log_entry: unknown[] };
      };
      assert.deepEqual(
        mine.http.map(attributesFromHttpLog),
        (full.http_logs?.log_entry ?? []).map(attributesFromHttpLog),
      );
      assert.deepEqual(
        mine.tcp.map(attributesFromTcpLog),
        (full.tcp_logs?.log_entry ?? []).map(attributesFromTcpLog),
      );
      // A gateway's view reads upstream_remote_address too.
      const gw = [
        ...mine.http.map(gatewayAttributesFromHttpLog),
        ...mine.tcp.map(gatewayAttributesFromTcpLog),
      ];
      assert.deepEqual(gw, [
        ...(full.http_logs?.log_entry ?? []).map(gatewayAttributesFromHttpLog),
        ...(full.tcp_logs?.log_entry ?? []).map(gatewayAttributesFromTcpLog),
      ]);
      assert.ok(gw.every((b) => b.has('destination.ip') && b.has('origin.ip')));
    }
    const http = attributesFromHttpLog(
      decodeAlsMessage(encodeMessage(AlsMessage, alsHttp)).http[0],
    );
    assert.equal(http.get('request.method'), 'POST');
    assert.equal(http.get('response.code'), 201);
    assert.equal(http.get('source.principal'), 'spiffe://cluster.local/ns/shop/sa/productpage');
  });

  const responses: { name: string; code: number; http: boolean; want: object }[] = [
    { name: 'OK for HTTP', code: 0, http: true, want: { status: {}, ok_response: {} } },
    { name: 'OK for TCP', code: 0, http: false, want: { status: {} } },
    {
      name: 'PERMISSION_DENIED for HTTP',
      code: 7,
      http: true,
      want: {
        status: { code: 7, message: 'denied by rule' },
        denied_response: {
          status: { code: 'Forbidden' },
          headers: [{ header: { key: 'content-type', value: 'text/plain' } }],
          body: 'PERMISSION_DENIED:denied by rule',
        },
      },
    },
    {
      name: 'RESOURCE_EXHAUSTED for HTTP is 429',
      code: 8,
      http: true,
      want: {
        status: { code: 8, message: 'denied by rule' },
        denied_response: {
          status: { code: 'TooManyRequests' },
          headers: [{ header: { key: 'content-type', value: 'text/plain' } }],
          body: 'RESOURCE_EXHAUSTED:denied by rule',
        },
      },
    },
    {
      name: 'a denial for TCP',
      code: 7,
      http: false,
      want: { status: { code: 7, message: 'denied by rule' } },
    },
  ];
  for (const r of responses) {
    it(`encodes a CheckResponse Envoy reads: ${r.name}`, () => {
      const bytes = encodeAuthzResponse(
        authzDecision(r.code, r.code === 0 ? '' : 'denied by rule'),
        r.http,
      );
      assertNoUnknownFields(CheckResponse, bytes);
      assert.deepEqual(decodeMessage(CheckResponse, bytes), r.want);
    });
  }
});
