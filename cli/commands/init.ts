/** `istio-lite init` (the `istio-init` container): traffic capture rules; `init clean` removes them. */
import { applyCapture, cleanCapture } from '../../agent/capture/iptables.ts';
import { parseCaptureFlags } from '../../agent/capture/options.ts';
import { nextNatTable } from '../../agent/capture/rules.ts';
import type { Command } from '../command.ts';
import { stringFlag, usage } from '../flags.ts';

export const init: Command = {
  name: 'init',
  summary: 'Write the traffic capture rules (iptables); `init clean` removes them.',
  usage:
    'init [clean] [-p 15001] [-z 15006] [-u 1337] [-g 1337] [-i CIDRS] [-x CIDRS] [-b PORTS] [-d PORTS] [-q PORTS] [-o PORTS] [--dry-run]',
  help: [
    '  -p, --outbound-port N            outbound capture port (default 15001)',
    '  -z, --inbound-port N             inbound capture port (default 15006)',
    "  -u, --proxy-uid N                the proxy's uid, never captured (default 1337)",
    "  -g, --proxy-gid N                the proxy's gid, never captured (default 1337)",
    '  -m, --mode REDIRECT              interception mode (only REDIRECT)',
    '  -i, --include-outbound-cidrs L   outbound CIDRs to capture, or * (default *)',
    '  -x, --exclude-outbound-cidrs L   outbound CIDRs never captured',
    '  -b, --include-inbound-ports L    inbound ports to capture, or * (default *)',
    '  -d, --exclude-inbound-ports L    inbound ports never captured',
    '  -q, --include-outbound-ports L   outbound ports always captured',
    '  -o, --exclude-outbound-ports L   outbound ports never captured',
    '      --dry-run                    print the nat table that would be written, change nothing',
  ].join('\n'),
  options: {
    'outbound-port': { type: 'string', short: 'p' },
    'inbound-port': { type: 'string', short: 'z' },
    'proxy-uid': { type: 'string', short: 'u' },
    'proxy-gid': { type: 'string', short: 'g' },
    mode: { type: 'string', short: 'm' },
    'include-outbound-cidrs': { type: 'string', short: 'i' },
    'exclude-outbound-cidrs': { type: 'string', short: 'x' },
    'include-inbound-ports': { type: 'string', short: 'b' },
    'exclude-inbound-ports': { type: 'string', short: 'd' },
    'include-outbound-ports': { type: 'string', short: 'q' },
    'exclude-outbound-ports': { type: 'string', short: 'o' },
    'dry-run': { type: 'boolean' },
  },
  allowPositionals: true,
  async run(flags, positionals, io) {
    const [sub, ...extra] = positionals;
    if (extra.length > 0 || (sub !== undefined && sub !== 'clean')) {
      throw usage(`unexpected argument "${positionals.join(' ')}" (only "clean")`);
    }
    if (sub === 'clean') {
      await cleanCapture();
      io.stderr.write('istio-lite capture rules removed\n');
      return 0;
    }
    const options = parseCaptureFlags({
      p: stringFlag(flags, 'outbound-port'),
      z: stringFlag(flags, 'inbound-port'),
      u: stringFlag(flags, 'proxy-uid'),
      g: stringFlag(flags, 'proxy-gid'),
      m: stringFlag(flags, 'mode'),
      i: stringFlag(flags, 'include-outbound-cidrs'),
      x: stringFlag(flags, 'exclude-outbound-cidrs'),
      b: stringFlag(flags, 'include-inbound-ports'),
      d: stringFlag(flags, 'exclude-inbound-ports'),
      q: stringFlag(flags, 'include-outbound-ports'),
      o: stringFlag(flags, 'exclude-outbound-ports'),
    });
    if (flags['dry-run'] === true) {
      io.stdout.write(nextNatTable('', options));
      return 0;
    }
    io.stdout.write(await applyCapture(options));
    return 0;
  },
};
