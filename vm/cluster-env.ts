/**
 * The bundle's `cluster.env`: `KEY=value` lines that are both a systemd EnvironmentFile (the
 * units read it) and sh (`. cluster.env`). Values with only safe characters are written bare;
 * anything else is single-quoted, which both read the same way. The units in vm/units.ts use
 * every variable here but the optional ISTIO_META_AUTO_REGISTER_GROUP and INSTANCE_IP, which the
 * agent reads from its environment.
 */
import { ErrorCode, IstioLiteError } from '../lib/errors.ts';

export interface ClusterEnv {
  /** Outbound CIDRs captured on the VM: the cluster's services. */
  readonly ISTIO_SERVICE_CIDR: string;
  readonly ISTIO_INBOUND_PORTS: string;
  readonly ISTIO_LOCAL_EXCLUDE_PORTS: string;
  readonly PILOT_ADDRESS: string;
  /** Empty when the mesh runs without Mixer. */
  readonly MIXER_ADDRESS: string;
  readonly CA_ADDRESS: string;
  /** The name the CA's certificate is checked for (its Kubernetes DNS name). */
  readonly CA_SERVER_NAME: string;
  readonly POD_NAMESPACE: string;
  readonly SERVICE_ACCOUNT: string;
  readonly TRUST_DOMAIN: string;
  /** With `--group`: the WorkloadGroup Pilot registers the VM from. */
  readonly ISTIO_META_AUTO_REGISTER_GROUP?: string;
  /** With `--ip`; else the agent finds the VM's address itself. */
  readonly INSTANCE_IP?: string;
}

/** The variables in the order they are written. */
export const clusterEnvKeys = [
  'ISTIO_SERVICE_CIDR',
  'ISTIO_INBOUND_PORTS',
  'ISTIO_LOCAL_EXCLUDE_PORTS',
  'PILOT_ADDRESS',
  'MIXER_ADDRESS',
  'CA_ADDRESS',
  'CA_SERVER_NAME',
  'POD_NAMESPACE',
  'SERVICE_ACCOUNT',
  'TRUST_DOMAIN',
  'ISTIO_META_AUTO_REGISTER_GROUP',
  'INSTANCE_IP',
] as const satisfies readonly (keyof ClusterEnv)[];

const bare = /^[A-Za-z0-9_.,:/*@%+=[\]-]*$/;

function quote(key: string, value: string): string {
  if (bare.test(value)) return value;
  if (/['\n\\$`"]/.test(value)) {
    throw new IstioLiteError(
      ErrorCode.Internal,
      `cluster.env: ${key} holds a character neither systemd nor sh reads plainly: ${JSON.stringify(value)}`,
    );
  }
  return `'${value}'`;
}

export function renderClusterEnv(env: ClusterEnv, header: readonly string[] = []): string {
  const lines = header.map((h) => `# ${h}`);
  for (const key of clusterEnvKeys) {
    const value = env[key];
    if (value === undefined) continue;
    lines.push(`${key}=${quote(key, value)}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Reads cluster.env back as systemd does for what renderClusterEnv writes (comments, blank
 * lines, `KEY=value`, single or double quotes): for tests and for checking a bundle.
 */
export function parseClusterEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m === null) {
      throw new IstioLiteError(
        ErrorCode.InvalidInput,
        `cluster.env line ${String(i + 1)}: not KEY=value`,
      );
    }
    const [, key = '', value = ''] = m;
    const q = /^'(.*)'$|^"(.*)"$/.exec(value);
    out[key] = q === null ? value : (q[1] ?? q[2] ?? '');
  }
  return out;
}
