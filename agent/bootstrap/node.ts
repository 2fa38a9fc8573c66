/**
 * Who the proxy is to Pilot: the node id in Istio's form
 * `<sidecar|router>~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local` and the node metadata
 * (modern Istio's keys: NAME, NAMESPACE, INSTANCE_IPS, SERVICE_ACCOUNT, ..., plus every
 * `ISTIO_META_<KEY>` env var as `<KEY>`).
 */
import { projectVersion } from '../../lib/package-info.ts';
import type { AgentConfig } from '../settings.ts';

export interface NodeIdentity {
  readonly id: string;
  readonly cluster: string;
  readonly metadata: Readonly<Record<string, string>>;
}

export function nodeId(c: Pick<AgentConfig, 'mode' | 'pod' | 'domain'>): string {
  return `${c.mode}~${c.pod.ip}~${c.pod.name}.${c.pod.namespace}~${c.domain}`;
}

export function nodeIdentity(c: AgentConfig): NodeIdentity {
  const metadata: Record<string, string> = {
    ...c.extraMetadata,
    NAME: c.pod.name,
    NAMESPACE: c.pod.namespace,
    INSTANCE_IPS: c.pod.ip,
    SERVICE_ACCOUNT: c.pod.serviceAccount,
    ISTIO_VERSION: projectVersion,
    CLUSTER_ID: 'Kubernetes',
    PROXY_MODE: c.mode,
    TRUST_DOMAIN: c.trustDomain,
  };
  if (c.pod.hostIp !== '') metadata['HOST_IP'] = c.pod.hostIp;
  return { id: nodeId(c), cluster: c.serviceCluster, metadata };
}
