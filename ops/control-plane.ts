/**
 * Finding the control plane the way a user has it, for the operator commands (proxy-status,
 * proxy-config, analyze, dashboard):
 *
 * 1. `--xdsAddress HOST:PORT`: one Pilot, its debug pages read over ADS (`istio.io/debug`);
 * 2. `.local/endpoints.json` (written by `npm start`) when no kubeconfig was named: Pilot's and
 *    Mixer's loopback HTTP ports;
 * 3. the cluster of the kubeconfig: every endpoint of the `istio-pilot` (and `istio-mixer`)
 *    Service's EndpointSlices, each pod read through the API server's pod proxy
 *    (`/api/v1/namespaces/NS/pods/NAME:PORT/proxy/...`), so it works from outside the cluster.
 *
 * Every failure says what was tried, where the address came from, and what to do.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { FieldReader } from '../lib/config/field-reader.ts';
import { ErrorCode, IstioLiteError, errorMessage } from '../lib/errors.ts';
import { loadKubeConfig } from '../lib/kube/client.ts';
import { fetchDebugOverXds } from '../lib/xds/debug-client.ts';
import { errorText } from './error-text.ts';
import { kubeGet, podProxyGet } from './kube-read.ts';

/** One replica of a component, and how to read a path on its HTTP port. */
export interface Replica {
  /** The pod name, or the address read. */
  readonly name: string;
  /** GETs `path` (`/debug/proxy_status`, `/metrics`); resolves to the body. */
  get(path: string): Promise<string>;
}

export interface ControlPlane {
  /** Where the addresses came from, for messages. */
  readonly source: string;
  /** The cluster, when the control plane was found through one (analyze reads it). */
  readonly kc: KubeConfig | undefined;
  /** Every Pilot replica. */
  pilots(): Promise<readonly Replica[]>;
  /** Every Mixer replica's monitoring port (its Prometheus metrics). */
  mixers(): Promise<readonly Replica[]>;
}

export interface FindOptions {
  readonly xdsAddress?: string | undefined;
  /** `--kubeconfig`, when given (it wins over `.local/endpoints.json`). */
  readonly kubeconfig?: string | undefined;
  /** The control plane's namespace (`istio-system`). */
  readonly istioNamespace: string;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
}

/** The file `npm start` writes, relative to where it runs. */
export const localEndpointsFile = join('.local', 'endpoints.json');

async function httpGet(base: string, path: string, what: string): Promise<string> {
  let r: Response;
  try {
    r = await fetch(`http://${base}${path}`, { signal: AbortSignal.timeout(5000) });
  } catch (e) {
    const cause =
      e instanceof Error && e.cause instanceof Error ? e.cause.message : errorMessage(e);
    throw new IstioLiteError(ErrorCode.External, `${what} at ${base} is unreachable: ${cause}`, {
      cause: e,
    });
  }
  const text = await r.text();
  if (r.status !== 200) {
    throw new IstioLiteError(
      ErrorCode.External,
      `${what} at ${base}${path}: HTTP ${String(r.status)}: ${errorText(text)}`,
    );
  }
  return text;
}

function xdsPlane(address: string): ControlPlane {
  const replica: Replica = {
    name: address,
    async get(path) {
      const page = path.replace(/^\/debug\//, '');
      if (page === path) {
        throw new IstioLiteError(
          ErrorCode.Usage,
          `--xdsAddress reaches Pilot's debug pages only, not ${path}`,
        );
      }
      return JSON.stringify(await fetchDebugOverXds(address, page));
    },
  };
  return {
    source: `--xdsAddress ${address}`,
    kc: undefined,
    pilots: () => Promise.resolve([replica]),
    mixers: () =>
      Promise.reject(
        new IstioLiteError(
          ErrorCode.Usage,
          "--xdsAddress names Pilot only: give the dashboard Mixer's metrics through --prometheus URL",
        ),
      ),
  };
}

interface LocalEndpoints {
  readonly kubeconfig: string;
  readonly pilotHttp: string;
  readonly mixerMetrics: string;
}

function readLocalEndpoints(path: string): LocalEndpoints {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new IstioLiteError(ErrorCode.InvalidConfig, `${path}: ${errorMessage(e)}`, { cause: e });
  }
  const r = new FieldReader(json, { what: path });
  return {
    kubeconfig: r.requiredString('kubeconfig'),
    pilotHttp: r.requiredString('pilotHttp'),
    mixerMetrics: r.requiredString('mixerMetrics'),
  };
}

function localPlane(path: string): ControlPlane {
  const e = readLocalEndpoints(path);
  const hint = ' (is `npm start` still running? it removes the file when it stops)';
  const replica = (name: string, base: string, what: string): Replica => ({
    name,
    get: (p) =>
      httpGet(base, p, what).catch((err: unknown) => {
        throw new IstioLiteError(ErrorCode.External, `${errorMessage(err)}, from ${path}${hint}`, {
          cause: err,
        });
      }),
  });
  let kc: KubeConfig | undefined;
  return {
    source: path,
    get kc() {
      kc ??= loadKubeConfig(e.kubeconfig);
      return kc;
    },
    pilots: () => Promise.resolve([replica('local', e.pilotHttp, 'Pilot')]),
    mixers: () => Promise.resolve([replica('local', e.mixerMetrics, 'Mixer')]),
  };
}

interface SliceEndpoint {
  readonly pod: string;
  readonly port: number;
}

/** The pods behind a Service, from its EndpointSlices, with the port named `portName`. */
async function servicePods(
  kc: KubeConfig,
  namespace: string,
  service: string,
  portName: string,
  defaultPort: number,
): Promise<SliceEndpoint[]> {
  const selector = encodeURIComponent(`kubernetes.io/service-name=${service}`);
  const list = await kubeGet(
    kc,
    `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices?labelSelector=${selector}`,
  );
  const out = new Map<string, SliceEndpoint>();
  for (const slice of new FieldReader(list, { what: `EndpointSlices of ${service}` }).list(
    'items',
  )) {
    const ports = slice.list('ports');
    const named = ports.find((p) => p.string('name', '') === portName);
    const port = named ? named.integer('port', defaultPort, 1, 65535) : defaultPort;
    for (const ep of slice.list('endpoints')) {
      const ref = ep.object('targetRef');
      if (ref.string('kind', '') !== 'Pod') continue;
      const pod = ref.requiredString('name');
      out.set(pod, { pod, port });
    }
  }
  return [...out.values()].sort((a, b) => (a.pod < b.pod ? -1 : 1));
}

export function kubePlane(kc: KubeConfig, namespace: string, source: string): ControlPlane {
  const replicas = async (service: string, portName: string, port: number, what: string) => {
    const pods = await servicePods(kc, namespace, service, portName, port);
    if (pods.length === 0) {
      throw new IstioLiteError(
        ErrorCode.External,
        `no ${what} found: the ${service} Service in namespace ${namespace} has no endpoints (${source}); is istio-lite installed there? (--istioNamespace NS, or --xdsAddress HOST:PORT for a Pilot you can reach)`,
      );
    }
    return pods.map((p): Replica => ({
      name: p.pod,
      get: (path) => podProxyGet(kc, namespace, p.pod, p.port, path, what),
    }));
  };
  return {
    source,
    kc,
    pilots: () => replicas('istio-pilot', 'http-debug', 8080, 'Pilot'),
    mixers: () => replicas('istio-mixer', 'http-monitoring', 42422, 'Mixer'),
  };
}

/** Finds the control plane (see the file's comment for the order). */
export function findControlPlane(o: FindOptions): ControlPlane {
  if (o.xdsAddress !== undefined) return xdsPlane(o.xdsAddress);
  const local = join(o.cwd, localEndpointsFile);
  if (o.kubeconfig === undefined && existsSync(local)) return localPlane(local);
  const kc = loadKubeConfig(o.kubeconfig, { env: o.env });
  const where = kc.getCurrentCluster()?.server ?? 'the current cluster';
  return kubePlane(kc, o.istioNamespace, `API server ${where}`);
}

/** Reads a JSON debug page from a replica. */
export async function readPage(replica: Replica, page: string): Promise<unknown> {
  const text = await replica.get(`/debug/${page}`);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new IstioLiteError(
      ErrorCode.External,
      `Pilot ${replica.name}: /debug/${page} is not JSON`,
      {
        cause: e,
      },
    );
  }
}
