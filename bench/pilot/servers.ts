/**
 * The servers bench/pilot measures, each its own process started as a user starts it, on loopback
 * ports picked beforehand, reading the bench's API server with a 100 ms debounce (1 s max):
 *
 * - istio-lite: `istio-lite pilot` as the chart runs it: the compiled dist/ of the image
 *   (`--sources`: the TypeScript sources, as `npx istio-lite` in a checkout) with the chart's
 *   NODE_OPTIONS for Pilot (read from charts/istio-lite/templates/pilot.yaml);
 * - istiod: `pilot-discovery discovery` (scripts/build-binaries.sh pilot-discovery) outside a
 *   cluster: Kubernetes registry only, its CA, webhooks' server and secure xDS port off (the
 *   bench's clients speak plaintext ADS, as to istio-lite), run from the bench's folder.
 *
 * Each prints its logs to a file in that folder (named in the bench's error when a server fails).
 * Ready is the first 200 from its HTTP port's /ready, polled every 10 ms.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { freePorts } from '../../lib/free-ports.ts';
import { projectRoot } from '../../lib/package-info.ts';
import { distEntry } from '../compile-dist.ts';

export interface ServerProcess {
  readonly label: string;
  readonly pid: number;
  /** `127.0.0.1:PORT` of plaintext ADS. */
  readonly xdsAddress: string;
  /** Just before the process was spawned (ms since epoch). */
  readonly startedAt: number;
  readonly logFile: string;
  /** Resolves with the time /ready first answered 200; rejects if the process exits first. */
  ready(timeoutMs: number): Promise<number>;
  /** SIGTERM, then SIGKILL after 5 s; resolves when it has exited. */
  stop(): Promise<void>;
}

export interface ServerSpec {
  readonly label: string;
  /** Spawns the server on `ports`, logging to `log` (an open file descriptor). */
  spawn(o: {
    kubeconfig: string;
    dir: string;
    xdsPort: number;
    httpPort: number;
    monitoringPort: number;
    log: number;
  }): ChildProcess;
}

const debounce = { quiet: '100ms', max: '1s' };

/** The process settings the chart gives Pilot's container, by variable (those it sets). */
export function chartPilotEnv(): Readonly<Record<string, string>> {
  const template = readFileSync(
    join(projectRoot, 'charts/istio-lite/templates/pilot.yaml'),
    'utf8',
  );
  const env: Record<string, string> = {};
  for (const name of ['NODE_OPTIONS', 'MALLOC_ARENA_MAX']) {
    const m = new RegExp(`- name: ${name}\\s+value: ("?)([^"\\n]*)\\1`).exec(template);
    const value = m?.[2]?.trim();
    if (value !== undefined && value !== '') env[name] = value;
  }
  return env;
}

/** The chart's settings as `NAME=value` words, for the report. */
export function describeEnv(env: Readonly<Record<string, string>>): string {
  const words = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  return words.length === 0 ? '(none)' : words.join(' ');
}

/** Where `istio-lite` starts: the image's compiled entry or the sources' launcher. */
export function istioLiteEntry(from: 'dist' | 'sources'): string {
  return from === 'dist' ? distEntry : join(projectRoot, 'bin', 'istio-lite.js');
}

export function istioLiteSpec(
  entry: string,
  chartEnv: Readonly<Record<string, string>>,
  nodeFlags: readonly string[],
): ServerSpec {
  return {
    label: 'istio-lite',
    spawn: (o) =>
      spawn(
        process.execPath,
        [
          ...nodeFlags,
          entry,
          'pilot',
          '--kubeconfig',
          o.kubeconfig,
          '--host',
          '127.0.0.1',
          '--port',
          String(o.xdsPort),
          '--httpPort',
          String(o.httpPort),
          '--debounce',
          debounce.quiet,
          '--debounceMax',
          debounce.max,
        ],
        {
          cwd: o.dir,
          stdio: ['ignore', o.log, o.log],
          env: { ...process.env, NODE_OPTIONS: '', ...chartEnv },
        },
      ),
  };
}

export function istiodSpec(binary: string): ServerSpec {
  return {
    label: 'istiod',
    spawn: (o) => {
      const mesh = join(o.dir, 'istiod-mesh.yaml');
      writeFileSync(mesh, 'trustDomain: cluster.local\n');
      return spawn(
        binary,
        [
          'discovery',
          '--kubeconfig',
          o.kubeconfig,
          '--meshConfig',
          mesh,
          '--networksConfig',
          join(o.dir, 'istiod-mesh-networks.yaml'),
          '--registries',
          'Kubernetes',
          '--domain',
          'cluster.local',
          '--namespace',
          'istio-system',
          '--httpAddr',
          `127.0.0.1:${String(o.httpPort)}`,
          '--grpcAddr',
          `127.0.0.1:${String(o.xdsPort)}`,
          '--monitoringAddr',
          `127.0.0.1:${String(o.monitoringPort)}`,
          '--secureGRPCAddr',
          '',
          '--httpsAddr',
          '',
        ],
        {
          cwd: o.dir,
          stdio: ['ignore', o.log, o.log],
          env: {
            ...process.env,
            KUBECONFIG: o.kubeconfig,
            POD_NAMESPACE: 'istio-system',
            POD_NAME: 'istiod-bench',
            REVISION: 'default',
            PILOT_DEBOUNCE_AFTER: debounce.quiet,
            PILOT_DEBOUNCE_MAX: debounce.max,
            ENABLE_CA_SERVER: 'false',
            PILOT_ENABLE_CONFIG_DISTRIBUTION_TRACKING: 'false',
            PILOT_ENABLE_XDS_CACHE: 'true',
            // istiod limits new ADS requests per second (by default from the machine's size) and
            // refuses a stream that would wait too long: Envoy retries, the bench's 100 clients
            // connect once and at once, so istiod gets room for all of them (istio-lite has no
            // such limit).
            PILOT_MAX_REQUESTS_PER_SECOND: '1000',
            INJECTION_WEBHOOK_CONFIG_NAME: '',
            VALIDATION_WEBHOOK_CONFIG_NAME: '',
          },
        },
      );
    },
  };
}

function getStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => {
      resolve(0);
    });
    req.on('timeout', () => {
      req.destroy();
    });
    req.end();
  });
}

/** Starts `spec` against the API server of `kubeconfig`. */
export async function startServer(
  spec: ServerSpec,
  kubeconfig: string,
  dir: string,
): Promise<ServerProcess> {
  const [xdsPort = 0, httpPort = 0, monitoringPort = 0] = await freePorts(3);
  const logFile = join(dir, `${spec.label}.log`);
  const log = openSync(logFile, 'a');
  const startedAt = Date.now();
  const proc = spec.spawn({ kubeconfig, dir, xdsPort, httpPort, monitoringPort, log });
  closeSync(log);
  const pid = proc.pid;
  if (pid === undefined) throw new Error(`${spec.label} did not start; see ${logFile}`);
  let exited: string | undefined;
  const gone = new Promise<void>((resolve) => {
    proc.once('exit', (code, signal) => {
      exited = signal ?? String(code);
      resolve();
    });
  });
  return {
    label: spec.label,
    pid,
    xdsAddress: `127.0.0.1:${String(xdsPort)}`,
    startedAt,
    logFile,
    async ready(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      const url = `http://127.0.0.1:${String(httpPort)}/ready`;
      for (;;) {
        if (exited !== undefined) {
          throw new Error(`${spec.label} exited (${exited}) before it was ready; see ${logFile}`);
        }
        if ((await getStatus(url)) === 200) return Date.now();
        if (Date.now() > deadline) {
          throw new Error(
            `${spec.label} not ready within ${String(timeoutMs / 1000)} s; see ${logFile}`,
          );
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async stop() {
      if (exited !== undefined) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(t);
    },
  };
}
