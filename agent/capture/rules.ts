/**
 * The capture rules (docs/reference/injection.md, "Traffic capture") as iptables-restore input for
 * the nat table.
 * Pure. `nextNatTable` takes the table as `iptables-save` prints it, drops every chain and rule of
 * ours, and adds the new ones, so applying it with `iptables-restore` replaces the table in one
 * transaction: re-running never duplicates a rule, and other tools' rules are kept.
 */
import { isIPv4 } from 'node:net';
import type { CaptureOptions } from './options.ts';

export const Chain = {
  Redirect: 'ISTIO_REDIRECT',
  InRedirect: 'ISTIO_IN_REDIRECT',
  Inbound: 'ISTIO_INBOUND',
  Output: 'ISTIO_OUTPUT',
} as const;

const ours = new Set<string>(Object.values(Chain));

/** One rule; the comment goes before `-j` so the target's own options stay last. */
function rule(chain: string, spec: string, comment: string): string {
  const j = spec.indexOf('-j ');
  const match = j < 0 ? spec : spec.slice(0, j).trimEnd();
  const target = j < 0 ? '' : spec.slice(j);
  return [`-A ${chain}`, match, `-m comment --comment "istio-lite: ${comment}"`, target]
    .filter((x) => x !== '')
    .join(' ');
}

const v4 = (cidr: string) => isIPv4(cidr.split('/')[0] ?? '');

/** Our chains and rules (without table header or COMMIT). IPv4 only; IPv6 entries are skipped. */
export function captureRules(o: CaptureOptions): string[] {
  const r: string[] = [];
  r.push(
    rule(
      Chain.Redirect,
      `-p tcp -j REDIRECT --to-ports ${o.outboundPort}`,
      'outbound to the sidecar',
    ),
  );
  r.push(
    rule(
      Chain.InRedirect,
      `-p tcp -j REDIRECT --to-ports ${o.inboundPort}`,
      'inbound to the sidecar',
    ),
  );

  // Inbound.
  if (o.includeInboundPorts === '*') {
    for (const p of o.excludeInboundPorts) {
      r.push(rule(Chain.Inbound, `-p tcp --dport ${p} -j RETURN`, `inbound port ${p} excluded`));
    }
    r.push(rule(Chain.Inbound, `-p tcp -j ${Chain.InRedirect}`, 'all other inbound captured'));
  } else {
    for (const p of o.includeInboundPorts) {
      if (o.excludeInboundPorts.includes(p)) continue;
      r.push(
        rule(
          Chain.Inbound,
          `-p tcp --dport ${p} -j ${Chain.InRedirect}`,
          `inbound port ${p} captured`,
        ),
      );
    }
  }

  // Outbound, in order.
  for (const p of o.excludeOutboundPorts) {
    r.push(rule(Chain.Output, `-p tcp --dport ${p} -j RETURN`, `outbound port ${p} excluded`));
  }
  r.push(
    rule(
      Chain.Output,
      `-o lo ! -d 127.0.0.1/32 -j ${Chain.Redirect}`,
      'app to its own pod address through loopback',
    ),
  );
  r.push(
    rule(Chain.Output, `-m owner --uid-owner ${o.proxyUid} -j RETURN`, 'the proxy itself (uid)'),
  );
  r.push(
    rule(Chain.Output, `-m owner --gid-owner ${o.proxyGid} -j RETURN`, 'the proxy itself (gid)'),
  );
  r.push(rule(Chain.Output, '-d 127.0.0.1/32 -j RETURN', 'loopback'));
  for (const p of o.includeOutboundPorts) {
    r.push(
      rule(Chain.Output, `-p tcp --dport ${p} -j ${Chain.Redirect}`, `outbound port ${p} captured`),
    );
  }
  for (const c of o.excludeOutboundCidrs.filter(v4)) {
    r.push(rule(Chain.Output, `-d ${c} -j RETURN`, `${c} excluded`));
  }
  if (o.includeOutboundCidrs === '*') {
    r.push(rule(Chain.Output, `-j ${Chain.Redirect}`, 'all other outbound captured'));
  } else {
    for (const c of o.includeOutboundCidrs.filter(v4)) {
      r.push(rule(Chain.Output, `-d ${c} -j ${Chain.Redirect}`, `${c} captured`));
    }
    r.push(rule(Chain.Output, '-j RETURN', 'outside the captured ranges'));
  }
  return r;
}

/** The jumps into our chains from the built-in ones. */
function hooks(): string[] {
  return [
    rule('PREROUTING', `-p tcp -j ${Chain.Inbound}`, 'inbound capture'),
    rule('OUTPUT', `-p tcp -j ${Chain.Output}`, 'outbound capture'),
  ];
}

function isOurLine(line: string): boolean {
  const chainDecl = /^:(\S+)/.exec(line);
  if (chainDecl) return ours.has(chainDecl[1] ?? '');
  const append = /^-A (\S+)(.*)$/.exec(line);
  if (!append) return false;
  if (ours.has(append[1] ?? '')) return true;
  return [...ours].some((c) => (append[2] ?? '').includes(`-j ${c}`));
}

/**
 * The whole nat table for iptables-restore: `current` (iptables-save output of the nat table, or
 * '' when there is none) without our chains and jumps, plus `options`' rules unless undefined
 * (`clean`).
 */
export function nextNatTable(current: string, options: CaptureOptions | undefined): string {
  const lines = current.split('\n').map((l) => l.trimEnd());
  const start = lines.findIndex((l) => l === '*nat');
  const end = start < 0 ? -1 : lines.findIndex((l, i) => i > start && l === 'COMMIT');
  const body = start < 0 || end < 0 ? [] : lines.slice(start + 1, end);
  const builtins = [
    ':PREROUTING ACCEPT [0:0]',
    ':INPUT ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':POSTROUTING ACCEPT [0:0]',
  ];
  const kept = body.filter((l) => l !== '' && !l.startsWith('#') && !isOurLine(l));
  const decls = kept.filter((l) => l.startsWith(':'));
  const rules = kept.filter((l) => !l.startsWith(':'));
  for (const b of builtins) {
    const name = b.split(' ')[0] ?? '';
    if (!decls.some((d) => d.startsWith(`${name} `))) decls.push(b);
  }
  const out = ['*nat', ...decls];
  if (options !== undefined) {
    for (const c of Object.values(Chain)) out.push(`:${c} - [0:0]`);
  }
  out.push(...rules);
  if (options !== undefined) out.push(...hooks(), ...captureRules(options));
  out.push('COMMIT', '');
  return out.join('\n');
}
