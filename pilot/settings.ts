/**
 * `istio-lite pilot`'s settings: the options (flags, with defaults and checks) and the mesh config
 * file they name, parsed once into a readonly object. A bad value is an error naming the flag.
 */
import { resolve } from 'node:path';
import { dnsName, httpUrl } from '../lib/config/checks.ts';
import { option, usageError, type OptionValues } from '../lib/config/options.ts';
import { readConfigFile } from '../lib/config-file.ts';
import { defaultMeshConfig, parseMeshConfig, type MeshConfig } from '../lib/mesh-config.ts';
import { Port } from '../lib/ports.ts';

/** The registries `--registries` may name, as Istio 0.2 spelled them. */
export const RegistryNames = ['Kubernetes', 'Consul', 'Eureka'] as const;
export type RegistryName = (typeof RegistryNames)[number];

export const pilotOptions = {
  port: option.port(Port.PilotXds, 'ADS gRPC port'),
  httpPort: option.port(Port.PilotHttp, 'HTTP port for /ready, /metrics, /debug/*'),
  host: option.text('0.0.0.0', 'listen address of both ports', { placeholder: 'ADDR' }),
  meshConfig: option.string('mesh config (the istio ConfigMap, or its mesh key), read at start', {
    placeholder: 'FILE',
  }),
  kubeconfig: option.string('kubeconfig (default: KUBECONFIG, in-cluster, ~/.kube/config)', {
    placeholder: 'FILE',
  }),
  domain: option.text('cluster.local', 'cluster DNS domain', {
    placeholder: 'DOMAIN',
    check: dnsName,
  }),
  debounce: option.duration('100ms', 'quiet time before a push'),
  debounceMax: option.duration('1s', 'longest a change waits for its push'),
  registries: option.list(
    ['Kubernetes'],
    `service registries to read (${RegistryNames.join(', ')}); a hostname in two is served from the first`,
  ),
  consulserverURL: option.string(
    'the Consul HTTP API, for --registries Consul (http://HOST:8500, or HOST:8500 as 0.2 took it)',
    { placeholder: 'URL', check: consulAddress },
  ),
  eurekaserverURL: option.string(
    'the Eureka server, for --registries Eureka (a path, e.g. /eureka, is its base path)',
    { placeholder: 'URL', check: httpUrl },
  ),
  eurekaPollInterval: option.duration('2s', 'how often Eureka is read', { minMs: 100 }),
  workloadEntryGracePeriod: option.duration(
    '10s',
    'an auto-registered WorkloadEntry is removed this long after its proxy disconnects',
    { minMs: 100 },
  ),
};

/** An http(s) URL, or `host:port` (Consul's API client took its address without a scheme). */
function consulAddress(v: string): string | undefined {
  return /^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/.test(v) ? undefined : httpUrl(v);
}

/** One registry to read, with what it needs. */
export type RegistrySpec =
  | { readonly kind: 'Kubernetes' }
  | { readonly kind: 'Consul'; readonly url: string }
  | { readonly kind: 'Eureka'; readonly url: string; readonly pollMs: number };

/** `--registries` and the URLs it needs, checked: known names, each once, each with its URL. */
export function registrySpecs(v: {
  readonly registries: readonly string[];
  readonly consulserverURL: string | undefined;
  readonly eurekaserverURL: string | undefined;
  readonly eurekaPollInterval: number;
}): RegistrySpec[] {
  if (v.registries.length === 0) {
    throw usageError(`--registries: name at least one of ${RegistryNames.join(', ')}`);
  }
  const seen = new Set<RegistryName>();
  return v.registries.map((raw): RegistrySpec => {
    const name = RegistryNames.find((n) => n.toLowerCase() === raw.toLowerCase());
    if (name === undefined) {
      throw usageError(
        `--registries: "${raw}" is not a registry Pilot knows (${RegistryNames.join(', ')})`,
      );
    }
    if (seen.has(name)) throw usageError(`--registries: ${name} is named twice`);
    seen.add(name);
    switch (name) {
      case 'Kubernetes':
        return { kind: name };
      case 'Consul':
        if (v.consulserverURL === undefined) {
          throw usageError('--registries Consul needs --consulserverURL (e.g. http://consul:8500)');
        }
        return {
          kind: name,
          url: /^https?:\/\//.test(v.consulserverURL)
            ? v.consulserverURL
            : `http://${v.consulserverURL}`,
        };
      case 'Eureka':
        if (v.eurekaserverURL === undefined) {
          throw usageError('--registries Eureka needs --eurekaserverURL (e.g. http://eureka:8761)');
        }
        return { kind: name, url: v.eurekaserverURL, pollMs: v.eurekaPollInterval };
    }
  });
}

export interface PilotSettings {
  readonly mesh: MeshConfig;
  /** undefined: KUBECONFIG, in-cluster, ~/.kube/config. */
  readonly kubeconfig: string | undefined;
  readonly xdsHost: string;
  /** ADS port (15010; 0 picks one). */
  readonly xdsPort: number;
  readonly httpHost: string;
  /** Debug, readiness and metrics port (8080; 0 picks one). */
  readonly httpPort: number;
  readonly debounceMs: number;
  readonly debounceMaxMs: number;
  readonly domain: string;
  /** The service registries, in `--registries` order (the first wins a hostname clash). */
  readonly registries: readonly RegistrySpec[];
  /** How long an auto-registered WorkloadEntry outlives its proxy's connection. */
  readonly workloadEntryGraceMs: number;
}

export async function pilotSettings(
  v: OptionValues<typeof pilotOptions>,
  cwd: string,
): Promise<PilotSettings> {
  if (v.debounceMax < v.debounce) {
    throw usageError('--debounceMax must not be shorter than --debounce');
  }
  const mesh =
    v.meshConfig === undefined
      ? defaultMeshConfig
      : parseMeshConfig(await readConfigFile(resolve(cwd, v.meshConfig), 'mesh'));
  return {
    mesh,
    kubeconfig: v.kubeconfig,
    xdsHost: v.host,
    xdsPort: v.port,
    httpHost: v.host,
    httpPort: v.httpPort,
    debounceMs: v.debounce,
    debounceMaxMs: v.debounceMax,
    domain: v.domain,
    registries: registrySpecs(v),
    workloadEntryGraceMs: v.workloadEntryGracePeriod,
  };
}
