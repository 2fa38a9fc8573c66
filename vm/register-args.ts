/**
 * The arguments of `istio-lite register`, Istio 0.2's `istioctl register SERVICE IP
 * [name:]PORT... [-l k=v] [-a k=v] [-s SERVICEACCOUNT]`, checked before anything is read or
 * written. A port without a name gets 0.2's guess from its number (80 and 8080 http, 443 https,
 * 3306 mysql, else tcp), made unique by adding the number when two would share a name.
 */
import { isIP } from 'node:net';
import { usageError } from '../lib/config/options.ts';

export interface RegisterPort {
  readonly name: string;
  readonly port: number;
}

export interface RegisterRequest {
  readonly service: string;
  readonly ip: string;
  readonly ports: readonly RegisterPort[];
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly serviceAccount: string;
  readonly namespace: string;
}

const dns1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const dns1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const portName = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const labelName = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const guessed: Readonly<Record<number, string>> = {
  80: 'http',
  8080: 'http',
  443: 'https',
  3306: 'mysql',
};

function checkName(what: string, name: string): void {
  if (!dns1035.test(name) || name.length > 63) {
    throw usageError(
      `${what} "${name}" is not a valid Service name (lower case letters, digits, "-"; starts with a letter)`,
    );
  }
}

/** A label or annotation key: an optional DNS prefix and `/`, then a name of up to 63 characters. */
function checkKey(flag: string, key: string): void {
  const slash = key.lastIndexOf('/');
  const prefix = slash === -1 ? '' : key.slice(0, slash);
  const name = slash === -1 ? key : key.slice(slash + 1);
  const prefixOk = prefix === '' || (dns1123.test(prefix) && prefix.length <= 253);
  if (!prefixOk || !labelName.test(name) || name.length > 63 || (slash !== -1 && prefix === '')) {
    throw usageError(`${flag}: "${key}" is not a valid key ([prefix/]name)`);
  }
}

/** `k=v` pairs, from repeated flags or comma-separated lists (`-l a=1,b=2 -l c=3`). */
export function parsePairs(
  flag: string,
  values: readonly string[],
  isLabel: boolean,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of values.flatMap((v) => v.split(',')).filter((x) => x !== '')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw usageError(`${flag}: "${part}" is not key=value`);
    const key = part.slice(0, eq);
    const value = part.slice(eq + 1);
    checkKey(flag, key);
    if (isLabel && (!labelValue.test(value) || value.length > 63)) {
      throw usageError(`${flag}: "${value}" (label ${key}) is not a valid label value`);
    }
    if (Object.hasOwn(out, key) && out[key] !== value) {
      throw usageError(`${flag}: ${key} is given twice with different values`);
    }
    out[key] = value;
  }
  return out;
}

export function parsePorts(specs: readonly string[]): RegisterPort[] {
  if (specs.length === 0)
    throw usageError('at least one port is required: [name:]PORT, e.g. http:9080');
  const parsed = specs.map((spec) => {
    const colon = spec.lastIndexOf(':');
    const name = colon === -1 ? undefined : spec.slice(0, colon);
    const text = colon === -1 ? spec : spec.slice(colon + 1);
    const port = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw usageError(`port "${spec}": "${text}" is not a port number (1-65535)`);
    }
    if (name !== undefined && (!portName.test(name) || name.length > 15)) {
      throw usageError(
        `port "${spec}": "${name}" is not a port name (up to 15 lower case letters, digits, "-")`,
      );
    }
    return { name, port };
  });
  const out: RegisterPort[] = [];
  const names = new Set(parsed.flatMap((p) => (p.name === undefined ? [] : [p.name])));
  for (const p of parsed) {
    let name = p.name;
    if (name === undefined) {
      const guess = guessed[p.port] ?? 'tcp';
      name = names.has(guess) ? `${guess}-${String(p.port)}` : guess;
      names.add(name);
    }
    const clash = out.find((o) => o.name === name || o.port === p.port);
    if (clash) {
      throw usageError(
        `ports ${clash.name}:${String(clash.port)} and ${name}:${String(p.port)} clash (same ${clash.port === p.port ? 'number' : 'name'})`,
      );
    }
    out.push({ name, port: p.port });
  }
  return out;
}

export interface RegisterArgs {
  readonly positionals: readonly string[];
  readonly labels: readonly string[];
  readonly annotations: readonly string[];
  readonly serviceAccount: string;
  readonly namespace: string;
}

export function parseRegisterArgs(a: RegisterArgs): RegisterRequest {
  const [service, ip, ...ports] = a.positionals;
  if (service === undefined || ip === undefined) {
    throw usageError(
      "usage: register SERVICE IP [name:]PORT... (the service, the VM's IP and its ports)",
    );
  }
  checkName('service', service);
  if (isIP(ip) === 0) throw usageError(`"${ip}" is not an IP address`);
  if (!dns1123.test(a.serviceAccount) || a.serviceAccount.length > 253) {
    throw usageError(`--serviceaccount: "${a.serviceAccount}" is not a ServiceAccount name`);
  }
  if (!dns1123.test(a.namespace) || a.namespace.length > 63) {
    throw usageError(`--namespace: "${a.namespace}" is not a namespace name`);
  }
  return {
    service,
    ip,
    ports: parsePorts(ports),
    labels: parsePairs('--labels', a.labels, true),
    annotations: parsePairs('--annotations', a.annotations, false),
    serviceAccount: a.serviceAccount,
    namespace: a.namespace,
  };
}
