/**
 * `istio-lite local up|down|env`: a real cluster on loopback, no Docker (lib/local-cluster):
 * etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok's simulated nodes. `up` prints `KUBECONFIG=…` on stdout (so `export $(istio-lite local up)`
 * works) and its progress on stderr.
 */
import { resolve } from 'node:path';
import { option } from '../../lib/config/options.ts';
import { ErrorCode, IstioLiteError } from '../../lib/errors.ts';
import { down, env, up } from '../../lib/local-cluster/cluster.ts';
import { defineCommand } from '../command.ts';

const subcommands = ['up', 'down', 'env'] as const;
type Subcommand = (typeof subcommands)[number];

function isSubcommand(s: string | undefined): s is Subcommand {
  return (subcommands as readonly (string | undefined)[]).includes(s);
}

export const local = defineCommand({
  name: 'local',
  summary: 'Start, stop or locate a local Kubernetes cluster with simulated nodes (no Docker).',
  usage: 'local up|down|env [--state-dir DIR] [--nodes N]',
  notes: [
    'Subcommands:',
    '  up                 start etcd, kube-apiserver, kube-controller-manager, kube-scheduler and',
    '                     kwok (N simulated nodes) on free 127.0.0.1 ports, or find them running;',
    '                     prints KUBECONFIG=DIR/kubeconfig. Pods are scheduled, get IPs and turn',
    '                     Running and Ready; containers do not run',
    '  down               stop them and remove the state folder',
    '  env                print KUBECONFIG=DIR/kubeconfig for a running cluster',
    '',
    'Binaries come from $KUBE_APISERVER, $KUBE_CONTROLLER_MANAGER, $KUBE_SCHEDULER, $KWOK and $ETCD,',
    'else PATH, else $ISTIO_LITE_CACHE or .cache/bin,',
    'and are built with scripts/build-binaries.sh when missing (Go, a few minutes).',
  ].join('\n'),
  options: {
    'state-dir': option.text('.local', 'where the state, certificates, data and logs live', {
      placeholder: 'DIR',
    }),
    nodes: option.number(
      3,
      'nodes kwok simulates (0: etcd and kube-apiserver only, no controllers)',
      { min: 0, max: 256, integer: true },
    ),
  },
  allowPositionals: true,
  async run(values, positionals, io) {
    const [sub, ...extra] = positionals;
    if (!isSubcommand(sub)) {
      throw new IstioLiteError(
        ErrorCode.Usage,
        sub === undefined ? 'missing subcommand (up, down or env)' : `unknown subcommand "${sub}"`,
      );
    }
    if (extra.length > 0) {
      throw new IstioLiteError(ErrorCode.Usage, `unexpected argument "${extra.join(' ')}"`);
    }
    const stateDir = resolve(io.cwd, values['state-dir']);
    const progress = (line: string) => {
      io.stderr.write(`${line}\n`);
    };
    switch (sub) {
      case 'up': {
        const cluster = await up(stateDir, { log: progress, progress, nodes: values.nodes });
        io.stdout.write(`KUBECONFIG=${cluster.kubeconfig}\n`);
        return 0;
      }
      case 'down':
        progress(
          (await down(stateDir))
            ? `local cluster in ${stateDir} stopped and removed`
            : `no local cluster in ${stateDir}`,
        );
        return 0;
      case 'env':
        io.stdout.write(env(stateDir));
        return 0;
    }
  },
});
