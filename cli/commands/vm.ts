/**
 * `istio-lite vm bundle`: the files a VM needs to join the mesh (vm/bundle.ts, docs/vm.md), like
 * `istioctl x workload entry configure`. Prints a few lines for a person on stderr at the end.
 */
import { usageError } from '../../lib/config/options.ts';
import { loadKubeConfig } from '../../lib/kube/client.ts';
import { createVmBundle } from '../../vm/bundle.ts';
import { parseBundleRequest, vmBundleOptions } from '../../vm/bundle-args.ts';
import { defineCommand } from '../command.ts';

export const vm = defineCommand({
  name: 'vm',
  summary:
    'Make the bundle a VM needs to join the mesh (cluster.env, root, bootstrap token, hosts, systemd units).',
  usage:
    'vm bundle -s SA -n NS -o DIR [--group NAME] [--ip IP] [--pilot-address IP:PORT] ... [--force]',
  options: vmBundleOptions,
  notes: [
    'Subcommands:',
    '  bundle   write the bundle into DIR and register its bootstrap token with the CA',
    '           (Secret istio-vm-token-<node> in the control-plane namespace); see docs/vm.md',
  ].join('\n'),
  allowPositionals: true,
  async run(v, positionals, io) {
    const [sub, ...extra] = positionals;
    if (sub !== 'bundle' || extra.length > 0) {
      throw usageError(
        sub === undefined
          ? 'a subcommand is required: bundle'
          : `unknown subcommand "${positionals.join(' ')}" (only "bundle")`,
      );
    }
    const request = parseBundleRequest(v);
    const result = await createVmBundle(
      loadKubeConfig(request.kubeconfig, { env: io.env }),
      request,
    );
    const out = (line: string) => io.stderr.write(`${line}\n`);
    out(`wrote ${result.dir}: ${result.files.join(', ')}`);
    out(
      `bootstrap token for ${result.identity} registered as Secret ${result.secret} (node ${result.node}${result.expiresAt === undefined ? '' : `, expires ${result.expiresAt.toISOString()}`})`,
    );
    for (const n of result.notes) out(`note: ${n}`);
    out(
      `next: copy ${result.dir} to the VM and install it there (docs/vm.md): files into /etc/istio-lite, hosts appended to /etc/hosts, the units into /etc/systemd/system`,
    );
    return 0;
  },
});
