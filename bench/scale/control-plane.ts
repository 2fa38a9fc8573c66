/**
 * bench:scale's control plane: the webhook, Pilot, Mixer and the CA as `istio-lite` processes,
 * each alone in its process (so its memory and CPU are its own), on free loopback ports, with the
 * flags a user gives them and the local cluster's admin kubeconfig, as the chart runs them (the
 * compiled dist/, Pilot with the chart's NODE_OPTIONS); output in DIR/<name>.log
 * (JSON lines at warn). The webhook manages its own certificate and is registered with the chart's
 * MutatingWebhookConfiguration (a loopback url), as `npm start` does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AdmissionregistrationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { registerWebhook } from '../../cli/local-control-plane.ts';
import { freePorts } from '../../lib/free-ports.ts';
import { chartPilotEnv } from '../pilot/servers.ts';

/** Pilot's process settings in the chart (young generation, malloc arenas); the others have none. */
const pilotEnv = chartPilotEnv();

export type ComponentName = 'webhook' | 'pilot' | 'mixer' | 'ca';

export interface Component {
  readonly name: ComponentName;
  readonly proc: ChildProcess;
  readonly pid: number;
  /** The port the bench talks to (ADS for Pilot). */
  readonly port: number;
  /** `/ready` (https for the webhook). */
  readonly readyUrl: string;
}

function argsOf(name: ComponentName, kubeconfig: string, p: number, q: number): string[] {
  const kc = ['--kubeconfig', kubeconfig];
  switch (name) {
    case 'webhook':
      return [
        'webhook',
        ...kc,
        '--host',
        '127.0.0.1',
        '--port',
        String(p),
        '--extraSANs',
        '127.0.0.1',
      ];
    case 'pilot':
      return ['pilot', ...kc, '--host', '127.0.0.1', '--port', String(p), '--httpPort', String(q)];
    case 'mixer':
      return [
        'mixer',
        ...kc,
        '--host',
        '127.0.0.1',
        '--port',
        String(p),
        '--monitoringPort',
        String(q),
      ];
    case 'ca':
      return [
        'ca',
        ...kc,
        ...['--grpc-host', '127.0.0.1', '--grpc-port', String(p)],
        ...['--monitoring-host', '127.0.0.1', '--monitoring-port', String(q)],
      ];
  }
}

function readyUrl(name: ComponentName, p: number, q: number): string {
  return name === 'webhook'
    ? `https://127.0.0.1:${String(p)}/ready`
    : `http://127.0.0.1:${String(q)}/ready`;
}

/** GET → status (0 when it fails); the webhook's certificate is its own CA's: not verified here. */
function status(url: string): Promise<number> {
  if (url.startsWith('http:')) {
    return fetch(url).then(
      (r) => r.status,
      () => 0,
    );
  }
  return new Promise((resolve) => {
    const req = request(url, { rejectUnauthorized: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => {
      resolve(0);
    });
    req.end();
  });
}

/**
 * Starts one component from `entry`: the compiled dist/ as the images run it (bench/compile-dist.ts)
 * with the chart's NODE_OPTIONS, or the sources' launcher (--sources).
 */
export async function startComponent(
  name: ComponentName,
  kubeconfig: string,
  dir: string,
  entry: string,
): Promise<Component> {
  const [p = 0, q = 0] = await freePorts(2);
  const log = openSync(join(dir, `${name}.log`), 'a');
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'warn' };
  delete env['NODE_OPTIONS'];
  if (name === 'pilot') Object.assign(env, pilotEnv);
  const proc = spawn(process.execPath, [entry, ...argsOf(name, kubeconfig, p, q)], {
    stdio: ['ignore', log, log],
    env,
  });
  closeSync(log);
  if (proc.pid === undefined) throw new Error(`cannot start istio-lite ${name}`);
  return { name, proc, pid: proc.pid, port: p, readyUrl: readyUrl(name, p, q) };
}

export async function waitReady(c: Component, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await status(c.readyUrl)) !== 200) {
    if (c.proc.exitCode !== null) throw new Error(`istio-lite ${c.name} exited; see its log`);
    if (Date.now() > deadline)
      throw new Error(`istio-lite ${c.name} not ready after ${String(timeoutMs)} ms`);
    await sleep(200);
  }
}

/** Registers the webhook and waits until the API server has its caBundle. */
export async function registerBenchWebhook(kc: KubeConfig, port: number): Promise<void> {
  await registerWebhook(kc, `https://127.0.0.1:${String(port)}/inject`);
  const admission = kc.makeApiClient(AdmissionregistrationV1Api);
  for (;;) {
    const c = await admission.readMutatingWebhookConfiguration({ name: 'istio-sidecar-injector' });
    if ((c.webhooks ?? []).every((w) => (w.clientConfig.caBundle ?? '') !== '')) return;
    await sleep(200);
  }
}

export async function stopComponent(c: Component): Promise<void> {
  if (c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  const exited = new Promise<'exited'>((r) =>
    c.proc.once('exit', () => {
      r('exited');
    }),
  );
  c.proc.kill('SIGTERM');
  if ((await Promise.race([exited, sleep(10_000, 'late')])) === 'late') c.proc.kill('SIGKILL');
}
