/**
 * What SDS serves by name besides the workload's `default` and `ROOTCA`: in router mode the
 * `kubernetes://<namespace>/<name>` TLS Secrets of Ingresses (kube-secrets.ts), loaded on first use
 * (lazy-secrets.ts). Types and the name prefix only, so importing this loads no Kubernetes client.
 */
export const KubernetesSecretPrefix = 'kubernetes://';

export interface TlsSecret {
  readonly chainPem: string;
  readonly keyPem: string;
}

/** Secrets SDS serves by name besides `default` and `ROOTCA`. */
export interface NamedSecretSource {
  /** Whether the name is one this source serves (served or not yet). */
  handles(name: string): boolean;
  /** The secret now, or undefined (not there yet); starts watching it. */
  get(name: string): TlsSecret | undefined;
  /** Called with the name after each change of a watched secret. */
  onChange(listener: (name: string) => void): void;
  close(): Promise<void>;
}
