/**
 * Resources for proxyless gRPC clients (`@grpc/grpc-js-xds`). They ask for a listener named after
 * their `xds:///` target (`<host>:<port>`) and accept only an API listener whose HTTP connection
 * manager fetches routes over ADS and ends with the router filter; routes may only forward to
 * clusters (no redirects or direct responses); clusters must be EDS with ROUND_ROBIN. RouteRules
 * reach them in the form they accept (see rule-routes.ts).
 */
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import { toAny } from '../../lib/xds/protos.ts';
import type { Listener, RouteConfiguration } from '../../lib/xds/types.ts';
import { isHttp } from '../model/protocol.ts';
import type { Service } from '../model/service.ts';
import { httpConnectionManager } from './filters.ts';
import { hostRoutes, type RouteInputs } from './routes.ts';
import { routeClusters } from './rule-routes.ts';
import { grpcListenerName, outboundClusterName } from './names.ts';
import { makeResource, type Resource } from './resource.ts';

/** The API listeners of a service's ports: `<host>:<port>`, routes over ADS by the same name. */
export function grpcListeners(svc: Service): Resource[] {
  const out: Resource[] = [];
  for (const p of svc.ports) {
    if (p.protocol === 'UDP') continue;
    const name = grpcListenerName(svc.hostname, p.port);
    const hcm = httpConnectionManager({ statPrefix: name, routes: { rds: name }, faults: true });
    const l: Listener = {
      name,
      api_listener: { api_listener: toAny(TypeUrl.HttpConnectionManager, hcm) },
    };
    out.push(makeResource(TypeUrl.Listener, name, l, { routes: [name] }));
  }
  return out;
}

/** The route configurations of a service's ports, with the RouteRules a proxyless client gets. */
export function grpcRouteConfigs(svc: Service, inputs: RouteInputs): Resource[] {
  const out: Resource[] = [];
  for (const p of svc.ports) {
    if (p.protocol === 'UDP') continue;
    const name = grpcListenerName(svc.hostname, p.port);
    const cluster = outboundClusterName(p.port, svc.hostname);
    // RouteRules route HTTP (gRPC) ports; other ports get the default route only.
    const routes = isHttp(p.protocol)
      ? hostRoutes(svc.hostname, p.port, cluster, inputs, 'grpc')
      : [{ name: 'default', match: { prefix: '' }, route: { cluster } }];
    const rc: RouteConfiguration = {
      name,
      virtual_hosts: [{ name, domains: [name, svc.hostname], routes }],
    };
    out.push(
      makeResource(TypeUrl.RouteConfiguration, name, rc, {
        clusters: [...new Set(routeClusters(routes))],
      }),
    );
  }
  return out;
}
