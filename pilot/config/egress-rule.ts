/**
 * EgressRule (config.istio.io/v1alpha2) from a raw object: destination.service (a host or a
 * wildcard like `*.foo.com`), ports [{port, protocol}] and useEgressProxy. Protocols are
 * case-insensitive, as 0.2's examples write them in lowercase.
 */
import { ConfigKind, EgressProtocol, type EgressPort, type EgressRule } from './model.ts';
import { objectMeta, specReader } from './parse-common.ts';

const hostRe = /^((\*[-.])?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$/;

/** Parses an EgressRule; throws an InvalidConfig error naming the field. */
export function parseEgressRule(raw: unknown): EgressRule {
  const meta = objectMeta(ConfigKind.EgressRule, raw);
  const r = specReader(meta, raw);
  const d = r.object('destination');
  const host = d.string('service', '').toLowerCase();
  // 0.2 ignores the other IstioService fields of an egress destination.
  for (const k of ['name', 'namespace', 'domain', 'labels']) d.raw(k);
  d.done();
  if (host === '') d.fail('service', 'missing');
  if (!hostRe.test(host)) d.fail('service', `"${host}" is not a host name or *.domain wildcard`);
  const list = r.list('ports');
  if (list.length === 0) r.fail('ports', 'needs at least one port');
  const ports: EgressPort[] = [];
  for (const p of list) {
    const port = p.integer('port', 0, 1, 65535);
    const proto = p.string('protocol', '').toUpperCase();
    p.done();
    if (port === 0) p.fail('port', 'missing');
    if (!(EgressProtocol as readonly string[]).includes(proto)) {
      p.fail('protocol', `must be one of ${EgressProtocol.join(', ')}, got "${proto}"`);
    }
    if (ports.some((q) => q.port === port)) p.fail('port', `port ${port} appears twice`);
    ports.push({ port, protocol: proto as EgressProtocol });
  }
  const rule: EgressRule = {
    meta,
    host,
    wildcard: host.startsWith('*'),
    ports: ports.sort((a, b) => a.port - b.port),
    useEgressProxy: r.boolean('useEgressProxy', false),
  };
  r.done();
  return rule;
}
