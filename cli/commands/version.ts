import { projectVersion } from '../../lib/package-info.ts';
import { defineCommand } from '../command.ts';

export const version = defineCommand({
  name: 'version',
  summary: 'Print the istio-lite version.',
  usage: 'version',
  options: {},
  run(_values, _pos, io) {
    io.stdout.write(`istio-lite ${projectVersion}\n`);
    return Promise.resolve(0);
  },
});
