/**
 * `istio-lite init` options (the flags of 0.2's istio-iptables.sh and the injected `istio-init`
 * container): parsed and validated before any rule is written; a bad value names its flag.
 */
import { ErrorCode, IstioLiteError } from '../../lib/errors.ts';
import { cidrListError, portError, portListError, splitList } from '../../lib/net.ts';

export interface CaptureOptions {
  /** Outbound capture port (-p, default 15001). */
  readonly outboundPort: number;
  /** Inbound capture port (-z, default 15006). */
  readonly inboundPort: number;
  /** The proxy's uid and gid (-u, -g, default 1337): its own traffic is never captured. */
  readonly proxyUid: number;
  readonly proxyGid: number;
  /** Outbound CIDRs captured (-i): '*' for all. */
  readonly includeOutboundCidrs: '*' | readonly string[];
  /** Outbound CIDRs never captured (-x). */
  readonly excludeOutboundCidrs: readonly string[];
  /** Inbound ports captured (-b): '*' for all. */
  readonly includeInboundPorts: '*' | readonly number[];
  /** Inbound ports never captured (-d). */
  readonly excludeInboundPorts: readonly number[];
  /** Outbound ports always captured (-q) and never captured (-o). */
  readonly includeOutboundPorts: readonly number[];
  readonly excludeOutboundPorts: readonly number[];
}

export interface RawCaptureFlags {
  readonly p?: string | undefined;
  readonly z?: string | undefined;
  readonly u?: string | undefined;
  readonly g?: string | undefined;
  readonly m?: string | undefined;
  readonly i?: string | undefined;
  readonly x?: string | undefined;
  readonly b?: string | undefined;
  readonly d?: string | undefined;
  readonly q?: string | undefined;
  readonly o?: string | undefined;
}

function bad(flag: string, message: string): IstioLiteError {
  return new IstioLiteError(ErrorCode.Usage, `-${flag}: ${message}`);
}

function port(flag: string, v: string | undefined, def: number): number {
  if (v === undefined) return def;
  const err = portError(v);
  if (err) throw bad(flag, err);
  return Number(v);
}

function id(flag: string, v: string | undefined, def: number): number {
  if (v === undefined) return def;
  if (!/^\d{1,10}$/.test(v) || Number(v) > 2 ** 32 - 2) throw bad(flag, `"${v}" is not a uid/gid`);
  return Number(v);
}

function cidrs(flag: string, v: string | undefined, allowStar: boolean): '*' | string[] {
  const s = (v ?? '').replace(/\s+/g, '');
  const err = cidrListError(s, allowStar);
  if (err) throw bad(flag, err);
  return s === '*' ? '*' : splitList(s);
}

function ports(flag: string, v: string | undefined, allowStar: boolean): '*' | number[] {
  const s = (v ?? '').replace(/\s+/g, '');
  const err = portListError(s, allowStar);
  if (err) throw bad(flag, err);
  return s === '*' ? '*' : splitList(s).map(Number);
}

function list<T>(v: '*' | T[]): T[] {
  return v === '*' ? [] : v;
}

export function parseCaptureFlags(f: RawCaptureFlags): CaptureOptions {
  const mode = f.m ?? 'REDIRECT';
  if (mode !== 'REDIRECT') {
    throw bad('m', `interception mode "${mode}" is not supported (only REDIRECT)`);
  }
  return {
    outboundPort: port('p', f.p, 15001),
    inboundPort: port('z', f.z, 15006),
    proxyUid: id('u', f.u, 1337),
    proxyGid: id('g', f.g, 1337),
    includeOutboundCidrs: cidrs('i', f.i ?? '*', true),
    excludeOutboundCidrs: list(cidrs('x', f.x, false)),
    includeInboundPorts: ports('b', f.b ?? '*', true),
    excludeInboundPorts: list(ports('d', f.d, false)),
    includeOutboundPorts: list(ports('q', f.q, false)),
    excludeOutboundPorts: list(ports('o', f.o, false)),
  };
}
