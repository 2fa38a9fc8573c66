/**
 * `istio-lite proxy-config cluster|listener|route|endpoint|secret POD[.NAMESPACE]` (like
 * `istioctl proxy-config`): what that proxy holds as it ACKed it (ops/proxy-config.ts).
 */
import { option, usageError } from '../../lib/config/options.ts';
import { planeFrom, planeNotes, planeOptions } from '../../ops/plane-options.ts';
import {
  ConfigKinds,
  OutputFormats,
  configText,
  readConfigDump,
  type ConfigKind,
} from '../../ops/proxy-config.ts';
import { defineCommand } from '../command.ts';

function isKind(s: string): s is ConfigKind {
  return (ConfigKinds as readonly string[]).includes(s);
}

export const proxyConfig = defineCommand({
  name: 'proxy-config',
  summary: 'Show the clusters, listeners, routes, endpoints or secrets a proxy holds.',
  usage:
    'proxy-config cluster|listener|route|endpoint|secret POD[.NAMESPACE] [-n NS] [-o short|json|yaml]',
  options: {
    output: option.oneOf(OutputFormats, 'short', 'output format', { short: 'o' }),
    namespace: option.string('the namespace of POD (else POD.NAMESPACE, or any)', {
      short: 'n',
      placeholder: 'NS',
    }),
    ...planeOptions,
  },
  notes: [
    'POD is a pod name (POD.NAMESPACE, or -n NS), a VM host name, a proxyless client id, or a node id',
    'as `proxy-status` lists them. What is shown is what the proxy ACKed last: a NACKed update is not',
    "in it. Secrets are the SDS names the config asks the proxy's agent for (the agent serves them).",
    planeNotes,
  ].join('\n'),
  allowPositionals: true,
  async run(v, positionals, io) {
    const [kind, ref, ...extra] = positionals;
    if (kind === undefined || !isKind(kind)) {
      throw usageError(
        kind === undefined
          ? `a type is required: ${ConfigKinds.join(', ')}`
          : `unknown type "${kind}" (one of ${ConfigKinds.join(', ')})`,
      );
    }
    if (ref === undefined || extra.length > 0) {
      throw usageError(`usage: proxy-config ${kind} POD[.NAMESPACE]`);
    }
    const dump = await readConfigDump(planeFrom(v, io), ref, v.namespace);
    io.stdout.write(configText(dump, kind, v.output));
    return 0;
  },
});
