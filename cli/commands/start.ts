/**
 * `istio-lite start` (`npm start`): the local control plane on an embedded local cluster, until
 * Ctrl-C or SIGTERM. A person reads short lines: what it is doing, what is ready, warnings worth
 * acting on (each once). Every component's JSON logs go to a file in the state folder.
 */
import { join, relative, resolve } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { createTerminalLogger } from '../../lib/terminal-log.ts';
import { option } from '../../lib/config/options.ts';
import { pilotOptions, registrySpecs } from '../../pilot/settings.ts';
import { defineCommand } from '../command.ts';
import { untilSignal } from '../serve.ts';
import { startLocalControlPlane, type Endpoints } from '../local-control-plane.ts';

function describePod(p: V1Pod): string {
  const names = (l: { name: string }[] | undefined) =>
    (l ?? []).map((c) => c.name).join(', ') || '-';
  const status = p.metadata?.annotations?.['sidecar.istio.io/status'];
  const where = `${p.status?.phase ?? 'Pending'} on ${p.spec?.nodeName ?? '-'}, ${p.status?.podIP ?? 'no IP'}`;
  return [
    `pod ${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}: ${status ? 'injected' : 'not injected'} (${where})`,
    `  initContainers: ${names(p.spec?.initContainers)}`,
    `  containers:     ${names(p.spec?.containers)}`,
  ].join('\n');
}

function describeEndpoints(e: Endpoints, endpointsFile: string): string {
  return [
    `ready (addresses also in ${endpointsFile}):`,
    `  webhook  https://${e.webhook}/inject`,
    `  pilot    xDS ${e.pilotXds}   debug http://${e.pilotHttp}/debug/configz`,
    ...(e.registries.length > 1 || e.registries[0] !== 'Kubernetes'
      ? [`           registries ${e.registries.join(', ')}: http://${e.pilotHttp}/debug/registryz`]
      : []),
    `  ca       ${e.caGrpc}`,
    `  mixer    ${e.mixerGrpc}   metrics http://${e.mixerMetrics}/metrics`,
  ].join('\n');
}

export const start = defineCommand({
  name: 'start',
  summary: 'Run the local control plane on an embedded local cluster (npm start).',
  usage:
    'start [--state-dir DIR] [--examples DIR] [--registries Kubernetes,Consul,Eureka --consulserverURL URL --eurekaserverURL URL]',
  options: {
    'state-dir': option.text('.local', 'local cluster state, endpoints.json and logs/', {
      placeholder: 'DIR',
    }),
    examples: option.text('examples', 'manifests to apply in namespace demo', {
      placeholder: 'DIR',
    }),
    // Pilot's registries, as `istio-lite pilot` takes them.
    registries: pilotOptions.registries,
    consulserverURL: pilotOptions.consulserverURL,
    eurekaserverURL: pilotOptions.eurekaserverURL,
    eurekaPollInterval: pilotOptions.eurekaPollInterval,
  },
  async run(values, _pos, io) {
    const registries = registrySpecs(values);
    const stateDir = resolve(io.cwd, values['state-dir']);
    const shown = (path: string) => {
      const rel = relative(io.cwd, path);
      return rel.startsWith('..') ? path : rel;
    };
    const logFile = join(stateDir, 'logs', 'control-plane.log');
    const say = (line: string) => io.stderr.write(`${line}\n`);
    const logger = createTerminalLogger('start', {
      file: logFile,
      show: say,
      ...(io.env['LOG_LEVEL'] !== undefined ? { level: io.env['LOG_LEVEL'] } : {}),
    });
    say(`logs of every component (JSON lines): ${shown(logFile)}`);
    const started = Date.now();
    const plane = await startLocalControlPlane({
      stateDir,
      examplesDir: resolve(io.cwd, values.examples),
      registries,
      logger,
      progress: say,
    });
    for (const p of plane.pods) io.stdout.write(`${describePod(p)}\n`);
    io.stdout.write(
      `\n${describeEndpoints(plane.endpoints, shown(join(stateDir, 'endpoints.json')))}\n` +
        `\nexport KUBECONFIG=${plane.endpoints.kubeconfig}\n` +
        `running; up in ${String(Math.round((Date.now() - started) / 1000))} s. Ctrl-C stops everything.\n`,
    );
    const signal = await untilSignal();
    say(`${signal}: shutting down…`);
    await plane.close();
    say('stopped');
    return 0;
  },
});
