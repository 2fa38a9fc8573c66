/**
 * The ext_authz CheckRequests of bench/agent, encoded once with Envoy's protos, as Pilot's config
 * makes Envoy send them (60 distinct requests, cycled):
 * - `sidecar`: sources reviews v1-v3 and productpage, to ratings and details, 5 paths each;
 * - `gateway`: the ingress gateway's checks: 6 clients outside the mesh, to ratings and details
 *   through the Ingress, 5 paths each, with the route's context (reporter kind, backend).
 */
import { checkRequest } from '../../agent/testing/envoy-mixer-client.ts';

export function authzRequests(kind: 'sidecar' | 'gateway'): Uint8Array[] {
  const gateway = kind === 'gateway';
  const requests: Uint8Array[] = [];
  const clients = ['203.0.113.1', '203.0.113.2', '203.0.113.3', '198.51.100.4', '198.51.100.5'];
  for (const client of gateway ? [...clients, '198.51.100.6'] : []) {
    for (const dest of ['ratings', 'details']) {
      for (let p = 0; p < 5; p++) {
        requests.push(
          checkRequest({
            sourceIp: client,
            destinationIp: '10.1.9.9',
            path: `/${dest}/${p}`,
            host: 'shop.example.com',
            context: {
              'context.reporter.kind': 'outbound',
              'destination.service': `${dest}.default.svc.cluster.local`,
            },
          }),
        );
      }
    }
  }
  for (const [app, version] of gateway
    ? []
    : [
        ['reviews', 'v1'],
        ['reviews', 'v2'],
        ['reviews', 'v3'],
        ['productpage', 'v1'],
        ['productpage', 'v2'],
        ['productpage', 'v3'],
      ]) {
    for (const dest of ['ratings', 'details']) {
      for (let p = 0; p < 5; p++) {
        requests.push(
          checkRequest({
            path: `/${dest}/${p}`,
            host: `${dest}:9080`,
            context: {
              'context.reporter.kind': 'inbound',
              'source.labels.app': app ?? '',
              'source.labels.version': version ?? '',
              'destination.labels.app': dest,
              'destination.service': `${dest}.default.svc.cluster.local`,
            },
          }),
        );
      }
    }
  }
  return requests;
}
