/**
 * `istio-lite register` / `deregister`: make a VM an endpoint of a Service (Istio 0.2's
 * `istioctl register`), recorded as a WorkloadEntry (vm/register.ts).
 */
import { option, usageError } from '../../lib/config/options.ts';
import { loadKubeConfig } from '../../lib/kube/client.ts';
import { parseRegisterArgs } from '../../vm/register-args.ts';
import { deregister as deregisterVm, register as registerVm } from '../../vm/register.ts';
import { defineCommand } from '../command.ts';

const common = {
  namespace: option.text('default', 'namespace of the Service', { short: 'n', placeholder: 'NS' }),
  kubeconfig: option.string('kubeconfig (default: KUBECONFIG, in-cluster, ~/.kube/config)', {
    placeholder: 'FILE',
  }),
};

export const register = defineCommand({
  name: 'register',
  summary:
    'Make a VM an endpoint of a Service (creates the Service if missing and a WorkloadEntry).',
  usage: 'register SERVICE IP [name:]PORT... [-l k=v]... [-a k=v]... [-s SERVICEACCOUNT] [-n NS]',
  options: {
    labels: option.repeated('labels of the VM endpoint (k=v, repeatable or comma-separated)', {
      short: 'l',
      placeholder: 'K=V',
    }),
    annotations: option.repeated('annotations of its WorkloadEntry (k=v)', {
      short: 'a',
      placeholder: 'K=V',
    }),
    serviceaccount: option.text('default', 'the service account the VM runs as (its identity)', {
      short: 's',
      placeholder: 'SA',
    }),
    ...common,
  },
  notes:
    'A port without a name is named from its number: 80 and 8080 http, 443 https, 3306 mysql, else tcp.\n' +
    'Remove the VM again with `istio-lite deregister SERVICE IP`.',
  allowPositionals: true,
  async run(v, positionals, io) {
    const request = parseRegisterArgs({
      positionals,
      labels: v.labels,
      annotations: v.annotations,
      serviceAccount: v.serviceaccount,
      namespace: v.namespace,
    });
    const result = await registerVm(loadKubeConfig(v.kubeconfig), request);
    for (const line of result.lines) io.stdout.write(`${line}\n`);
    return 0;
  },
});

export const deregister = defineCommand({
  name: 'deregister',
  summary: 'Remove a VM registered with `register` from a Service.',
  usage: 'deregister SERVICE IP [-n NS]',
  options: common,
  allowPositionals: true,
  async run(v, positionals, io) {
    const [service, ip, ...extra] = positionals;
    if (service === undefined || ip === undefined || extra.length > 0) {
      throw usageError('usage: deregister SERVICE IP');
    }
    // The same checks as register's, so a typo names itself.
    parseRegisterArgs({
      positionals: [service, ip, '1'],
      labels: [],
      annotations: [],
      serviceAccount: 'default',
      namespace: v.namespace,
    });
    io.stdout.write(
      `${await deregisterVm(loadKubeConfig(v.kubeconfig), { service, ip, namespace: v.namespace })}\n`,
    );
    return 0;
  },
});
