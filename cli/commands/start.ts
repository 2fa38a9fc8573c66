/**
 * `istio-lite start` (`npm start`): the local control plane on an embedded local cluster, until
 * Ctrl-C or SIGTERM.
 */
import { resolve } from 'node:path';
import type { V1Pod } from '@kubernetes/client-node';
import { createLogger } from '../../lib/log.ts';
import type { Command } from '../command.ts';
import { stringFlag, untilSignal } from '../flags.ts';
import { startLocalControlPlane } from '../local-control-plane.ts';

function describePod(p: V1Pod): string {
  const names = (l: { name: string }[] | undefined) =>
    (l ?? []).map((c) => c.name).join(', ') || '-';
  const status = p.metadata?.annotations?.['sidecar.istio.io/status'];
  return [
    `pod ${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}: ${status ? 'injected' : 'not injected'}`,
    `  initContainers: ${names(p.spec?.initContainers)}`,
    `  containers:     ${names(p.spec?.containers)}`,
  ].join('\n');
}

export const start: Command = {
  name: 'start',
  summary: 'Run the local control plane on an embedded local cluster (npm start).',
  usage: 'start [--state-dir DIR] [--examples DIR]',
  help: [
    '      --state-dir DIR  local cluster state and endpoints.json (default .local)',
    '      --examples DIR   manifests to apply in namespace demo (default examples/)',
  ].join('\n'),
  options: { 'state-dir': { type: 'string' }, examples: { type: 'string' } },
  async run(flags, _pos, io) {
    const logger = createLogger('start', { level: io.env['LOG_LEVEL'] ?? 'warn' });
    const plane = await startLocalControlPlane({
      stateDir: resolve(io.cwd, stringFlag(flags, 'state-dir') ?? '.local'),
      examplesDir: resolve(io.cwd, stringFlag(flags, 'examples') ?? 'examples'),
      logger,
      progress: (line) => io.stderr.write(`${line}\n`),
    });
    for (const p of plane.pods) io.stdout.write(`${describePod(p)}\n`);
    io.stdout.write(`\nendpoints (.local/endpoints.json): ${JSON.stringify(plane.endpoints)}\n`);
    io.stdout.write(
      `export KUBECONFIG=${plane.endpoints.kubeconfig}\nrunning; Ctrl-C stops everything.\n`,
    );
    const signal = await untilSignal();
    io.stderr.write(`${signal}: shutting down…\n`);
    await plane.close();
    return 0;
  },
};
