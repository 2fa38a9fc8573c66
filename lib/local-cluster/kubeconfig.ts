/**
 * The local cluster's kubeconfig: one cluster, one admin user with a client certificate, one
 * context, all named `istio-lite-local`; certificates inline so the file works when copied.
 */
import { stringify } from 'yaml';

export const contextName = 'istio-lite-local';

export interface KubeconfigOptions {
  readonly server: string;
  readonly caCert: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** The user's name in the file (default `istio-lite-admin`). */
  readonly user?: string;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

export function kubeconfigYaml(o: KubeconfigOptions): string {
  const user = o.user ?? 'istio-lite-admin';
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: contextName,
        cluster: { server: o.server, 'certificate-authority-data': b64(o.caCert) },
      },
    ],
    users: [
      {
        name: user,
        user: {
          'client-certificate-data': b64(o.clientCert),
          'client-key-data': b64(o.clientKey),
        },
      },
    ],
    contexts: [{ name: contextName, context: { cluster: contextName, user } }],
    'current-context': contextName,
    preferences: {},
  });
}
