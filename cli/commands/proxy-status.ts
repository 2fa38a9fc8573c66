/**
 * `istio-lite proxy-status` (like `istioctl proxy-status`): one line per proxy connected to any
 * Pilot replica, with SYNCED/STALE/NACKED per type (ops/proxy-status.ts).
 */
import { option } from '../../lib/config/options.ts';
import { planeFrom, planeNotes, planeOptions } from '../../ops/plane-options.ts';
import { collectProxyStatus, proxyStatusText } from '../../ops/proxy-status.ts';
import { defineCommand } from '../command.ts';

export const proxyStatus = defineCommand({
  name: 'proxy-status',
  summary: "Show every connected proxy and whether it has Pilot's latest CDS, LDS, EDS and RDS.",
  usage: 'proxy-status [-d] [-o table|json] [--xdsAddress HOST:PORT | -i NS]',
  options: {
    details: option.flag("print each NACK's message under the table", { short: 'd' }),
    output: option.oneOf(['table', 'json'], 'table', 'output format', { short: 'o' }),
    ...planeOptions,
  },
  notes: [
    'SYNCED: the proxy ACKed the last response of that type; STALE: sent, no answer yet;',
    'NACKED: refused (the proxy keeps its previous config; -d shows why); NOT SENT: nothing yet.',
    planeNotes,
  ].join('\n'),
  async run(v, _positionals, io) {
    const status = await collectProxyStatus(planeFrom(v, io));
    for (const f of status.failures) io.stderr.write(`warning: Pilot ${f.pilot}: ${f.message}\n`);
    io.stdout.write(
      v.output === 'json'
        ? `${JSON.stringify(status, null, 2)}\n`
        : proxyStatusText(status, v.details),
    );
    return 0;
  },
});
