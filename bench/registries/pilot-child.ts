/**
 * Pilot for the registries bench, alone in its process (so its RSS is Pilot's), reading one real
 * registry: `REGISTRY=consul` with `CONSUL_URL` (what `--registries Consul --consulserverURL URL`
 * gives, through pilot/settings.ts's registrySpecs), or `REGISTRY=kubernetes` with `KUBECONFIG`.
 * No traffic config in either (as bench/pilot): the runs differ in the registry only.
 *
 * Prints `{"ready":true,"xdsPort":N,"startedAt":MS}` (startedAt: just before runPilot), then
 * answers commands on stdin, one JSON per line: `{"cmd":"readyAt"}` (when /ready would first have
 * said 200: every registry synced and the first snapshot built), `{"cmd":"changes"}` (when the
 * registry signalled a change, since the last ask), `{"cmd":"rss"}` (RSS and heap after a GC),
 * `{"cmd":"exit"}`.
 */
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { loadKubeConfig } from '../../lib/kube/client.ts';
import { defaultMeshConfig } from '../../lib/mesh-config.ts';
import { ConfigStore } from '../../pilot/config/store.ts';
import { MemoryRegistry } from '../../pilot/model/memory-registry.ts';
import { runPilot, type PilotOptions } from '../../pilot/run.ts';
import { registrySpecs } from '../../pilot/settings.ts';

const kind = process.env['REGISTRY'];
const common = {
  logger: pino({ level: process.env['LOG_LEVEL'] ?? 'warn' }),
  mesh: { ...defaultMeshConfig, authPolicy: 'PERMISSIVE' as const },
  xdsHost: '127.0.0.1',
  xdsPort: 0,
  httpHost: '127.0.0.1',
  httpPort: 0,
  debounceMs: 100,
  debounceMaxMs: 1000,
  domain: 'cluster.local',
};

function options(): PilotOptions {
  if (kind === 'consul') {
    return {
      ...common,
      registries: registrySpecs({
        registries: ['Consul'],
        consulserverURL: process.env['CONSUL_URL'],
        eurekaserverURL: undefined,
        eurekaPollInterval: 2000,
      }),
      // Stands in for the Kubernetes cluster runPilot otherwise needs for the traffic config: with
      // it, nothing of Kubernetes is watched (and it is not a registry: --registries names Consul).
      registry: new MemoryRegistry(),
    };
  }
  if (kind === 'kubernetes') {
    return {
      ...common,
      registries: registrySpecs({
        registries: ['Kubernetes'],
        consulserverURL: undefined,
        eurekaserverURL: undefined,
        eurekaPollInterval: 2000,
      }),
      kc: loadKubeConfig(process.env['KUBECONFIG']),
      config: new ConfigStore(),
    };
  }
  throw new Error(`REGISTRY must be consul or kubernetes, not ${String(kind)}`);
}

const o = options();
const startedAt = Date.now();
const pilot = await runPilot(o);
let readyAt: number | undefined;
/** When the registry told Pilot of a change, since the last `changes` command. */
let changes: number[] = [];
pilot.registries.onChange(() => {
  changes.push(Date.now());
});
const poll = setInterval(() => {
  if (pilot.discovery.notReady() === undefined) {
    readyAt = Date.now();
    clearInterval(poll);
  }
}, 5);

function reply(v: object): void {
  process.stdout.write(`${JSON.stringify(v)}\n`);
}

reply({ ready: true, xdsPort: pilot.xdsPort, httpPort: pilot.httpPort, startedAt });

createInterface({ input: process.stdin }).on('line', (line) => {
  const m = JSON.parse(line) as { cmd: string };
  if (m.cmd === 'readyAt') {
    reply({ readyAt: readyAt ?? null, notReady: pilot.discovery.notReady() ?? null });
  } else if (m.cmd === 'changes') {
    reply({ changes });
    changes = [];
  } else if (m.cmd === 'rss') {
    global.gc?.();
    const u = process.memoryUsage();
    reply({ rss: u.rss, heap: u.heapUsed, heapTotal: u.heapTotal, external: u.external });
  } else if (m.cmd === 'exit') {
    clearInterval(poll);
    void pilot.close().then(() => process.exit(0));
  }
});
// The parent going away (Ctrl-C, a crash) closes stdin: Pilot goes too.
process.stdin.on('end', () => {
  process.exit(0);
});
