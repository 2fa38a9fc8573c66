import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { decodeMessage, encodeMessage, loadExtraProtos } from '../xds/protos.ts';
import { authzAttributes } from './authz-wire.ts';
import {
  attributesFromAuthz,
  gatewayAttributesFromAuthz,
  withoutPort,
} from './envoy-attributes.ts';
import { IpAddress } from './value.ts';

const CheckRequest = 'envoy.service.auth.v3.CheckRequest';

/** The other path: Envoy's protos decode the message, `attributesFromAuthz` maps it. */
function viaObjects(bytes: Uint8Array, gateway: boolean) {
  const o = decodeMessage(CheckRequest, bytes);
  return gateway ? gatewayAttributesFromAuthz(o) : attributesFromAuthz(o);
}

const sock = (address: string, port: number) => ({
  address: { socket_address: { address, port_value: port } },
});

/** Requests as a sidecar's and a gateway's HTTP and network filters send them, and odd ones. */
const requests: Record<string, object> = {
  'a sidecar HTTP check with peers, labels, TLS and extensions': {
    attributes: {
      source: {
        ...sock('10.1.0.1', 40000),
        principal: 'spiffe://cluster.local/ns/default/sa/reviews',
        service: 'reviews',
        labels: { App: 'reviews', version: 'v2' },
        certificate: 'PEM',
      },
      destination: {
        ...sock('10.1.0.2', 9080),
        principal: 'spiffe://cluster.local/ns/default/sa/ratings',
        labels: { app: 'ratings' },
      },
      request: {
        time: { seconds: 1_700_000_000, nanos: 123_456_789 },
        http: {
          id: 'req-1',
          method: 'POST',
          path: '/ratings/1?x=y',
          host: 'ratings:9080',
          scheme: 'https',
          size: 42,
          protocol: 'HTTP/2',
          headers: {
            ':authority': 'ratings:9080',
            'content-type': 'application/grpc+proto',
            'user-agent': 'grpc-go/1.85',
            referer: 'http://productpage/',
            'X-Mixed': 'case',
            traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
          },
        },
      },
      context_extensions: {
        'context.reporter.kind': 'inbound',
        'source.labels.team': 'books',
        'destination.port': '9080',
        'destination.service': 'ratings.default.svc.cluster.local',
        'not.an.attribute': 'dropped',
        'request.size': 'not a number',
      },
      tls_session: { sni: 'outbound_.9080_._.ratings.default.svc.cluster.local' },
    },
  },
  'fields left empty fall back to headers, the host gives destination.service': {
    attributes: {
      source: sock('10.1.0.1', 0),
      request: {
        http: {
          headers: {
            ':method': 'GET',
            ':path': '/p',
            ':authority': 'details:9080',
            ':scheme': 'http',
            'x-request-id': '',
            'user-agent': '',
          },
        },
      },
    },
  },
  'a host header when there is no authority': {
    attributes: { request: { http: { headers: { host: 'example.com:8080' } } } },
  },
  'a network filter check (no request.http)': {
    attributes: {
      source: { ...sock('2001:db8::1', 5555), principal: 'spiffe://x/ns/a/sa/b' },
      destination: sock('10.9.9.9', 27017),
      context_extensions: { 'context.protocol': 'mongo' },
    },
  },
  'an empty request': {},
  'a negative size': {
    attributes: {
      request: { http: { size: -1, headers: {} } },
    },
  },
  'a large size': {
    attributes: { request: { http: { size: 2 ** 40 + 3, headers: {} } } },
  },
  'an address that is no IP, an empty time and labels': {
    attributes: {
      source: { ...sock('not-an-ip', 1), labels: {} },
      request: { time: {}, http: {} },
    },
  },
};

describe('lib/mixer/authz-wire: a CheckRequest straight to attributes', () => {
  before(() => {
    loadExtraProtos(['envoy/service/auth/v3/external_auth.proto']);
  });

  for (const [name, request] of Object.entries(requests)) {
    it(`gives what decoding and mapping give: ${name}`, () => {
      const bytes = encodeMessage(CheckRequest, request);
      for (const gateway of [false, true]) {
        const direct = authzAttributes(bytes, gateway);
        const other = viaObjects(bytes, gateway);
        assert.deepEqual(direct.bag.toMap(), other, `gateway ${String(gateway)}`);
        assert.equal(direct.bag.size, other.size);
        for (const [k, v] of other) assert.deepEqual(direct.bag.get(k), v, k);
      }
    });
  }

  it('reads a sidecar check as expected (not only as the other path does)', () => {
    const bytes = encodeMessage(
      CheckRequest,
      requests['a sidecar HTTP check with peers, labels, TLS and extensions'] ?? {},
    );
    const { bag, http } = authzAttributes(bytes);
    assert.equal(http, true);
    assert.deepEqual(bag.get('source.ip'), IpAddress.parse('10.1.0.1'));
    assert.equal(bag.get('destination.port'), 9080);
    assert.deepEqual(
      bag.get('source.labels'),
      new Map([
        ['app', 'reviews'],
        ['version', 'v2'],
        ['team', 'books'],
      ]),
    );
    assert.equal(bag.get('source.user'), 'spiffe://cluster.local/ns/default/sa/reviews');
    assert.equal(bag.get('context.protocol'), 'grpc');
    assert.equal(bag.get('request.size'), 42);
    assert.equal((bag.get('request.time') as Date).getTime(), 1_700_000_000_123);
    assert.equal((bag.get('request.headers') as Map<string, string>).get('x-mixed'), 'case');
    assert.equal(bag.get('connection.mtls'), true);
    assert.equal(bag.has('not.an.attribute'), false);
    const tcp = authzAttributes(
      encodeMessage(CheckRequest, requests['a network filter check (no request.http)'] ?? {}),
    );
    assert.equal(tcp.http, false);
    assert.equal(tcp.bag.get('context.protocol'), 'mongo');
  });

  it('lets a message field that comes twice replace the first, as the other path does', () => {
    const first = encodeMessage(
      CheckRequest,
      requests['a sidecar HTTP check with peers, labels, TLS and extensions'] ?? {},
    );
    const second = encodeMessage(CheckRequest, {
      attributes: { source: sock('10.7.7.7', 1), request: { http: { path: '/second' } } },
    });
    const w = protobuf.Writer.create();
    w.uint32(10)
      .fork()
      .uint32(10)
      .bytes(encodeMessage('envoy.service.auth.v3.AttributeContext.Peer', { service: 'a' }))
      .uint32(10)
      .bytes(encodeMessage('envoy.service.auth.v3.AttributeContext.Peer', { principal: 'p' }))
      .ldelim();
    for (const bytes of [Buffer.concat([first, second]), w.finish()]) {
      assert.deepEqual(authzAttributes(bytes).bag.toMap(), viaObjects(bytes, false));
    }
    assert.equal(
      authzAttributes(Buffer.concat([first, second])).bag.get('request.path'),
      '/second',
    );
  });

  it("reads each request's own context_extensions: none carried over, a repeated key's last value", () => {
    const withExtensions = encodeMessage(
      CheckRequest,
      requests['a sidecar HTTP check with peers, labels, TLS and extensions'] ?? {},
    );
    const entry = (k: string, v: string) =>
      protobuf.Writer.create().uint32(10).string(k).uint32(18).string(v).finish();
    const w = protobuf.Writer.create();
    w.uint32(10).fork();
    for (const [k, v] of [
      ['destination.service', 'first.default.svc.cluster.local'],
      ['context.reporter.kind', 'inbound'],
      ['destination.service', 'last.default.svc.cluster.local'],
    ] as const) {
      w.uint32(82).bytes(entry(k, v));
    }
    w.ldelim();
    const repeated = w.finish();
    const without = encodeMessage(CheckRequest, {
      attributes: { source: sock('10.7.7.7', 1), request: { http: { path: '/plain' } } },
    });
    for (const bytes of [withExtensions, repeated, without, repeated]) {
      assert.deepEqual(authzAttributes(bytes).bag.toMap(), viaObjects(bytes, false));
    }
    assert.equal(
      authzAttributes(repeated).bag.get('destination.service'),
      'last.default.svc.cluster.local',
    );
    assert.equal(authzAttributes(without).bag.has('source.labels'), false);
  });

  it('skips fields it does not read and throws on bytes cut short', () => {
    const w = protobuf.Writer.create();
    w.uint32((99 << 3) | 0).uint64(7); // an unknown varint field
    w.uint32((98 << 3) | 2).bytes(Buffer.from('junk'));
    const known = encodeMessage(
      CheckRequest,
      requests['a network filter check (no request.http)'] ?? {},
    );
    const bytes = Buffer.concat([w.finish(), known]);
    assert.deepEqual(authzAttributes(bytes).bag.toMap(), viaObjects(bytes, false));
    assert.throws(() => authzAttributes(known.subarray(0, known.length - 3)), /index out of range/);
  });
});

describe('lib/mixer/envoy-attributes: withoutPort (destination.service from the host)', () => {
  // What /:\d+$/ removed before, without a regular expression a check.
  for (const [host, want] of [
    ['ratings:9080', 'ratings'],
    ['ratings', 'ratings'],
    ['[::1]:8080', '[::1]'],
    ['[::1]', '[::1]'],
    ['host:', 'host:'],
    [':80', ''],
    ['1234', '1234'],
    ['a:b:12', 'a:b'],
    ['', ''],
  ]) {
    it(`${JSON.stringify(host)} -> ${JSON.stringify(want)}`, () => {
      assert.equal(withoutPort(host as string), want);
      assert.equal(withoutPort(host as string), (host as string).replace(/:\d+$/, ''));
    });
  }
});
