import { projectVersion } from '../../lib/package-info.ts';
import type { Command } from '../command.ts';

export const version: Command = {
  name: 'version',
  summary: 'Print the istio-lite version.',
  usage: 'version',
  help: '',
  options: {},
  run(_flags, _pos, io) {
    io.stdout.write(`istio-lite ${projectVersion}\n`);
    return Promise.resolve(0);
  },
};
