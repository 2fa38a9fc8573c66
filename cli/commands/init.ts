/** `istio-lite init` (the `istio-init` container): traffic capture rules; `init clean` removes them. */
import { applyCapture, cleanCapture } from '../../agent/capture/iptables.ts';
import { parseCaptureFlags } from '../../agent/capture/options.ts';
import { nextNatTable } from '../../agent/capture/rules.ts';
import { option, usageError } from '../../lib/config/options.ts';
import { defineCommand } from '../command.ts';

// The values are checked together by parseCaptureFlags (errors name the short flag, as 0.2's
// istio-iptables.sh did), so they are declared here as plain strings.
const raw = (short: string, placeholder: string, help: string) =>
  option.string(help, { short, placeholder });

export const init = defineCommand({
  name: 'init',
  summary: 'Write the traffic capture rules (iptables); `init clean` removes them.',
  usage:
    'init [clean] [-p 15001] [-z 15006] [-u 1337] [-g 1337] [-i CIDRS] [-x CIDRS] [-b PORTS] [-d PORTS] [-q PORTS] [-o PORTS] [--dry-run]',
  options: {
    'outbound-port': raw('p', 'N', 'outbound capture port (default 15001)'),
    'inbound-port': raw('z', 'N', 'inbound capture port (default 15006)'),
    'proxy-uid': raw('u', 'N', "the proxy's uid, never captured (default 1337)"),
    'proxy-gid': raw('g', 'N', "the proxy's gid, never captured (default 1337)"),
    mode: raw('m', 'REDIRECT', 'interception mode (only REDIRECT)'),
    'include-outbound-cidrs': raw('i', 'L', 'outbound CIDRs to capture, or * (default *)'),
    'exclude-outbound-cidrs': raw('x', 'L', 'outbound CIDRs never captured'),
    'include-inbound-ports': raw('b', 'L', 'inbound ports to capture, or * (default *)'),
    'exclude-inbound-ports': raw('d', 'L', 'inbound ports never captured'),
    'include-outbound-ports': raw('q', 'L', 'outbound ports always captured'),
    'exclude-outbound-ports': raw('o', 'L', 'outbound ports never captured'),
    'dry-run': option.flag('print the nat table that would be written, change nothing'),
  },
  allowPositionals: true,
  async run(v, positionals, io) {
    const [sub, ...extra] = positionals;
    if (extra.length > 0 || (sub !== undefined && sub !== 'clean')) {
      throw usageError(`unexpected argument "${positionals.join(' ')}" (only "clean")`);
    }
    if (sub === 'clean') {
      await cleanCapture();
      io.stderr.write('istio-lite capture rules removed\n');
      return 0;
    }
    const options = parseCaptureFlags({
      p: v['outbound-port'],
      z: v['inbound-port'],
      u: v['proxy-uid'],
      g: v['proxy-gid'],
      m: v.mode,
      i: v['include-outbound-cidrs'],
      x: v['exclude-outbound-cidrs'],
      b: v['include-inbound-ports'],
      d: v['exclude-inbound-ports'],
      q: v['include-outbound-ports'],
      o: v['exclude-outbound-ports'],
    });
    if (v['dry-run']) {
      io.stdout.write(nextNatTable('', options));
      return 0;
    }
    io.stdout.write(await applyCapture(options));
    return 0;
  },
});
