/**
 * Every subcommand, in the order `--help` lists them. Add a command here and nowhere else.
 * Commands load on demand: a sidecar running `istio-lite agent` never loads Pilot, Mixer, the CA
 * or the webhook (about 70 MB of memory it does not need).
 */
import type { Command } from './command.ts';

export interface CommandEntry {
  readonly name: string;
  readonly load: () => Promise<Command>;
}

export const commands: readonly CommandEntry[] = [
  { name: 'start', load: async () => (await import('./commands/start.ts')).start },
  { name: 'kube-inject', load: async () => (await import('./commands/kube-inject.ts')).kubeInject },
  { name: 'webhook', load: async () => (await import('./commands/webhook.ts')).webhook },
  { name: 'pilot', load: async () => (await import('./commands/pilot.ts')).pilot },
  { name: 'mixer', load: async () => (await import('./commands/mixer.ts')).mixer },
  { name: 'ca', load: async () => (await import('./commands/ca.ts')).ca },
  { name: 'node-agent', load: async () => (await import('./commands/node-agent.ts')).nodeAgent },
  { name: 'init', load: async () => (await import('./commands/init.ts')).init },
  { name: 'agent', load: async () => (await import('./commands/agent.ts')).agent },
  { name: 'register', load: async () => (await import('./commands/register.ts')).register },
  { name: 'deregister', load: async () => (await import('./commands/register.ts')).deregister },
  { name: 'vm', load: async () => (await import('./commands/vm.ts')).vm },
  {
    name: 'proxy-status',
    load: async () => (await import('./commands/proxy-status.ts')).proxyStatus,
  },
  {
    name: 'proxy-config',
    load: async () => (await import('./commands/proxy-config.ts')).proxyConfig,
  },
  { name: 'analyze', load: async () => (await import('./commands/analyze.ts')).analyze },
  { name: 'dashboard', load: async () => (await import('./commands/dashboard.ts')).dashboard },
  { name: 'local', load: async () => (await import('./commands/local.ts')).local },
  { name: 'version', load: async () => (await import('./commands/version.ts')).version },
];
