import { readFileSync } from 'node:fs';
import type { Command } from '../command.ts';

export const version: Command = {
  name: 'version',
  summary: 'Print the istio-lite version.',
  usage: 'version',
  help: '',
  options: {},
  run(_flags, _pos, io) {
    const pkg: unknown = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    );
    const v =
      typeof pkg === 'object' && pkg !== null && 'version' in pkg ? String(pkg.version) : 'unknown';
    io.stdout.write(`istio-lite ${v}\n`);
    return Promise.resolve(0);
  },
};
