import assert from 'node:assert/strict';
import { encodeMessage, toAny } from '../../lib/xds/protos.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import type { RequestPeek, ResponsePeek } from '../wire/discovery.ts';
import { routeNamesOf } from '../wire/listener-routes.ts';
import { AckTracker } from './ack-tracker.ts';

function hcm(rds: string | undefined): object {
  return {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: toAny(TypeUrl.HttpConnectionManager, {
      stat_prefix: 'x',
      ...(rds
        ? {
            rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: rds },
          }
        : { route_config: { name: 'inline' } }),
    }),
  };
}

function listener(name: string, routes: (string | undefined)[]): Uint8Array {
  return encodeMessage(TypeUrl.Listener, {
    name,
    filter_chains: routes.map((r) => ({ filters: [hcm(r)] })),
  });
}

function response(typeUrl: string, nonce: string, values: Uint8Array[]): ResponsePeek {
  return {
    versionInfo: `v${nonce}`,
    typeUrl,
    nonce,
    resources: values.map((value) => ({ typeUrl, value })),
  };
}

function ack(typeUrl: string, nonce: string, error?: string): RequestPeek {
  return {
    versionInfo: '',
    nodeId: undefined,
    resourceNames: [],
    typeUrl,
    responseNonce: nonce,
    errorDetail: error === undefined ? undefined : { code: 3, message: error },
  };
}

const cluster = (name: string) => encodeMessage(TypeUrl.Cluster, { name });
const route = (name: string) => encodeMessage(TypeUrl.RouteConfiguration, { name });

describe('ACK tracking (readiness from what the proxy accepted)', () => {
  it('reads the RDS names of HTTP connection managers, in chains and API listeners', () => {
    assert.deepEqual(routeNamesOf(listener('l', ['80', undefined, '80', '9080'])), ['80', '9080']);
    const api = encodeMessage(TypeUrl.Listener, {
      name: 'api',
      api_listener: {
        api_listener: toAny(TypeUrl.HttpConnectionManager, {
          rds: { config_source: { ads: {} }, route_config_name: 'grpc-route' },
        }),
      },
    });
    assert.deepEqual(routeNamesOf(api), ['grpc-route']);
    assert.deepEqual(routeNamesOf(listener('tcp', [])), []);
  });

  it('is ready after CDS, LDS and every named route are ACKed', () => {
    const t = new AckTracker();
    assert.match(t.notReady() ?? '', /clusters \(CDS\); listeners \(LDS\)/);
    t.onResponse(response(TypeUrl.Cluster, '1', [cluster('a')]));
    assert.equal(t.onRequest(ack(TypeUrl.Cluster, '1')), 'ack');
    t.onResponse(response(TypeUrl.Listener, '2', [listener('l', ['80', '9080'])]));
    assert.match(t.notReady() ?? '', /listeners \(LDS\)/);
    t.onRequest(ack(TypeUrl.Listener, '2'));
    assert.match(t.notReady() ?? '', /routes \(RDS\) 80, 9080/);
    t.onResponse(response(TypeUrl.RouteConfiguration, '3', [route('80')]));
    t.onRequest(ack(TypeUrl.RouteConfiguration, '3'));
    assert.match(t.notReady() ?? '', /routes \(RDS\) 9080$/);
    t.onResponse(response(TypeUrl.RouteConfiguration, '4', [route('9080')]));
    t.onRequest(ack(TypeUrl.RouteConfiguration, '4'));
    assert.equal(t.notReady(), undefined);
  });

  it('a NACK, a stale nonce or a first request is not an ACK', () => {
    const t = new AckTracker();
    t.onResponse(response(TypeUrl.Cluster, '1', [cluster('a')]));
    assert.equal(t.onRequest(ack(TypeUrl.Cluster, '')), 'other');
    assert.equal(t.onRequest(ack(TypeUrl.Cluster, '0')), 'other');
    assert.equal(t.onRequest(ack(TypeUrl.Cluster, '1', 'bad cluster')), 'nack');
    assert.match(t.notReady() ?? '', /clusters \(CDS\).*last NACK: bad cluster/);
    t.onResponse(response(TypeUrl.Listener, '2', []));
    t.onRequest(ack(TypeUrl.Listener, '2'));
    assert.match(t.notReady() ?? '', /clusters/);
  });

  it('keeps ACKs across a new stream, forgets them when the proxy restarts', () => {
    const t = new AckTracker();
    t.onResponse(response(TypeUrl.Cluster, '1', []));
    t.onRequest(ack(TypeUrl.Cluster, '1'));
    t.onResponse(response(TypeUrl.Listener, '2', []));
    t.streamReset();
    assert.equal(t.onRequest(ack(TypeUrl.Listener, '2')), 'other', 'a nonce of the old stream');
    t.onResponse(response(TypeUrl.Listener, '1', []));
    t.onRequest(ack(TypeUrl.Listener, '1'));
    assert.equal(t.notReady(), undefined);
    t.reset();
    assert.notEqual(t.notReady(), undefined);
  });
});
