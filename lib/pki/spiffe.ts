/**
 * SPIFFE identities as Istio uses them: `spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`,
 * carried as the certificate's URI SAN.
 */
export interface WorkloadIdentity {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

export function spiffeId(id: WorkloadIdentity): string {
  return `spiffe://${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

const dnsLabel = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const saName = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** Parses a SPIFFE ID of the Istio shape; undefined when it is anything else. */
export function parseSpiffeId(uri: string): WorkloadIdentity | undefined {
  const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(uri);
  if (!m) return undefined;
  const [, trustDomain, namespace, serviceAccount] = m;
  if (trustDomain === undefined || namespace === undefined || serviceAccount === undefined) {
    return undefined;
  }
  if (!dnsLabel.test(namespace) || !saName.test(serviceAccount)) return undefined;
  return { trustDomain, namespace, serviceAccount };
}
