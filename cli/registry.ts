/** Every subcommand, in the order `--help` lists them. Add a command here and nowhere else. */
import type { Command } from './command.ts';
import { ca } from './commands/ca.ts';
import { init } from './commands/init.ts';
import { kubeInject } from './commands/kube-inject.ts';
import { local } from './commands/local.ts';
import { mixer } from './commands/mixer.ts';
import { nodeAgent } from './commands/node-agent.ts';
import { pilot } from './commands/pilot.ts';
import { start } from './commands/start.ts';
import { version } from './commands/version.ts';
import { webhook } from './commands/webhook.ts';

export const commands: readonly Command[] = [
  start,
  kubeInject,
  webhook,
  pilot,
  mixer,
  ca,
  nodeAgent,
  init,
  (await import('./commands/agent.ts')).agent,
  local,
  version,
];
