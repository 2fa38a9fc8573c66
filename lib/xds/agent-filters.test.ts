import assert from 'node:assert/strict';
import { AgentAccessLogName, AgentCluster } from './agent-clusters.ts';
import {
  agentExtAuthzPerRoute,
  agentHttpAccessLog,
  agentHttpExtAuthzFilter,
  agentNetworkExtAuthzFilter,
  agentTcpAccessLog,
} from './agent-filters.ts';
import { messageToJson } from './json-view.ts';
import { assertNoUnknownFields, encodeMessage, toAny } from './protos.ts';
import { TypeUrl } from './type-urls.ts';

describe('listener pieces that send checks and logs to the agent', () => {
  it('an HTTP connection manager with ext_authz before the router and an ALS access log', () => {
    const hcm = {
      stat_prefix: 'inbound_9080',
      route_config: { name: 'inline' },
      http_filters: [
        agentHttpExtAuthzFilter(),
        { name: 'envoy.filters.http.router', typed_config: toAny(TypeUrl.Router, {}) },
      ],
      access_log: [agentHttpAccessLog()],
    };
    const bytes = encodeMessage(TypeUrl.HttpConnectionManager, hcm);
    assertNoUnknownFields(TypeUrl.HttpConnectionManager, bytes);
    const json = messageToJson(TypeUrl.HttpConnectionManager, bytes) as {
      http_filters: { typed_config: Record<string, unknown> }[];
      access_log: { typed_config: { common_config: Record<string, unknown> } }[];
    };
    const authz = json.http_filters[0]!.typed_config;
    assert.deepEqual(authz['grpc_service'], {
      envoy_grpc: { cluster_name: AgentCluster.Mixer },
      timeout: { seconds: '2' },
    });
    assert.equal(authz['transport_api_version'], 'V3');
    const common = json.access_log[0]!.typed_config.common_config;
    assert.equal(common['log_name'], AgentAccessLogName);
    assert.equal(common['transport_api_version'], 'V3');
  });

  it('a TCP proxy chain with the network ext_authz filter and a TCP access log', () => {
    const tcp = encodeMessage(TypeUrl.TcpProxy, {
      stat_prefix: 'mongo',
      cluster: 'outbound|27017||db.shop.svc.cluster.local',
      access_log: [agentTcpAccessLog()],
    });
    const listener = encodeMessage(TypeUrl.Listener, {
      name: 'db',
      filter_chains: [
        {
          filters: [
            agentNetworkExtAuthzFilter('db'),
            {
              name: 'envoy.filters.network.tcp_proxy',
              typed_config: { type_url: TypeUrl.TcpProxy, value: tcp },
            },
          ],
        },
      ],
    });
    assertNoUnknownFields(TypeUrl.Listener, listener);
    assert.match(
      JSON.stringify(messageToJson(TypeUrl.Listener, listener)),
      /"cluster_name":"istio-agent-mixer"/,
    );
  });

  it('carries attributes as access log custom tags and ext_authz per-route context extensions', () => {
    const carrier = {
      'destination.service': 'db.shop.svc.cluster.local',
      'source.labels.app': 'x',
    };
    const log = encodeMessage(TypeUrl.TcpProxy, {
      stat_prefix: 'db',
      cluster: 'c',
      access_log: [agentTcpAccessLog(carrier)],
    });
    assertNoUnknownFields(TypeUrl.TcpProxy, log);
    const json = messageToJson(TypeUrl.TcpProxy, log) as {
      access_log: { typed_config: { common_config: { custom_tags: unknown } } }[];
    };
    assert.deepEqual(json.access_log[0]!.typed_config.common_config.custom_tags, [
      { tag: 'destination.service', literal: { value: 'db.shop.svc.cluster.local' } },
      { tag: 'source.labels.app', literal: { value: 'x' } },
    ]);
    const perRoute = agentExtAuthzPerRoute(carrier);
    assertNoUnknownFields(perRoute.type_url, perRoute.value);
    const ext = (
      messageToJson(perRoute.type_url, perRoute.value) as {
        check_settings: { context_extensions: Record<string, string> };
      }
    ).check_settings.context_extensions;
    assert.deepEqual(ext, carrier);
  });
});
