/**
 * `npm start`: until the local cluster exists, injects the bundled examples and prints the result.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultMeshConfig } from '../../lib/mesh-config.ts';
import { defaultInjectorConfig } from '../../webhook/config.ts';
import { kubeInjectText } from '../../webhook/kube-inject.ts';
import type { Command } from '../command.ts';

export const start: Command = {
  name: 'start',
  summary: 'Run the local control plane (for now: inject the bundled examples and print them).',
  usage: 'start [--examples DIR]',
  help: '      --examples DIR  folder of YAML files to inject (default examples/)',
  options: { examples: { type: 'string' } },
  async run(flags, _pos, io) {
    const dir =
      typeof flags['examples'] === 'string' ? flags['examples'] : join(io.cwd, 'examples');
    const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
    for (const f of files) {
      const text = await readFile(join(dir, f), 'utf8');
      const r = kubeInjectText(
        text,
        {
          config: defaultInjectorConfig,
          mesh: defaultMeshConfig,
          namespaceLabels: { 'istio-injection': 'enabled' },
          namespace: 'demo',
        },
        f,
      );
      io.stdout.write(`# ${f}\n${r.output}`);
      for (const d of r.documents) {
        for (const p of d.pods) {
          io.stderr.write(
            `${f}: ${p.kind} ${p.name}: ${p.decision.inject ? 'injected' : 'skipped'} (${p.decision.reason})\n`,
          );
        }
      }
    }
    return 0;
  },
};
