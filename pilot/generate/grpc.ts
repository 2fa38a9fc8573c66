/**
 * Resources for proxyless gRPC clients (`@grpc/grpc-js-xds`). They ask for a listener named after
 * their `xds:///` target (`<host>:<port>`) and accept only an API listener whose HTTP connection
 * manager fetches routes over ADS and ends with the router filter; routes may only forward to
 * clusters (no redirects or direct responses); clusters must be EDS with ROUND_ROBIN.
 */
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import { toAny } from '../../lib/xds/protos.ts';
import type { Listener, RouteConfiguration } from '../../lib/xds/types.ts';
import type { Service } from '../model/service.ts';
import { httpConnectionManager } from './filters.ts';
import { grpcListenerName, outboundClusterName } from './names.ts';
import { makeResource, type Resource } from './resource.ts';

export function grpcServiceResources(svc: Service): { listeners: Resource[]; routes: Resource[] } {
  const listeners: Resource[] = [];
  const routes: Resource[] = [];
  for (const p of svc.ports) {
    if (p.protocol === 'UDP') continue;
    const name = grpcListenerName(svc.hostname, p.port);
    const hcm = httpConnectionManager({ statPrefix: name, routes: { rds: name } });
    const l: Listener = {
      name,
      api_listener: { api_listener: toAny(TypeUrl.HttpConnectionManager, hcm) },
    };
    listeners.push(makeResource(TypeUrl.Listener, name, l, { routes: [name] }));
    const cluster = outboundClusterName(p.port, svc.hostname);
    const rc: RouteConfiguration = {
      name,
      virtual_hosts: [
        {
          name,
          domains: [name, svc.hostname],
          routes: [{ name: 'default', match: { prefix: '' }, route: { cluster } }],
        },
      ],
    };
    routes.push(makeResource(TypeUrl.RouteConfiguration, name, rc, { clusters: [cluster] }));
  }
  return { listeners, routes };
}
