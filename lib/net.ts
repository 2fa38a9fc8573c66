/**
 * Address and port syntax shared by the injector (annotations) and `istio-lite init` (flags):
 * CIDRs, comma-separated CIDR lists, ports and port lists. Each check returns an error message or
 * undefined, so callers can name the annotation or flag that was wrong.
 */
import { isIP } from 'node:net';

export function cidrError(s: string): string | undefined {
  const [ip, bits, extra] = s.split('/');
  if (ip === undefined || extra !== undefined) return `"${s}" is not a CIDR`;
  const family = isIP(ip);
  if (family === 0) return `"${s}" is not an IP address or CIDR`;
  if (bits === undefined) return undefined;
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) {
    return `"${s}" has an invalid prefix length (0-${max})`;
  }
  return undefined;
}

/** A comma list of CIDRs; `*` allowed when `allowStar`; empty means none. */
export function cidrListError(s: string, allowStar: boolean): string | undefined {
  if (s === '' || (allowStar && s === '*')) return undefined;
  for (const part of s.split(',')) {
    const p = part.trim();
    if (p === '*') return allowStar ? 'use "*" alone, not in a list' : '"*" is not allowed here';
    const err = cidrError(p);
    if (err) return err;
  }
  return undefined;
}

export function portError(s: string): string | undefined {
  if (!/^\d{1,5}$/.test(s) || Number(s) < 1 || Number(s) > 65535) {
    return `"${s}" is not a port (1-65535)`;
  }
  return undefined;
}

/** A comma list of ports; `*` allowed when `allowStar`; empty means none. */
export function portListError(s: string, allowStar: boolean): string | undefined {
  if (s === '' || (allowStar && s === '*')) return undefined;
  for (const part of s.split(',')) {
    const p = part.trim();
    if (p === '*') return allowStar ? 'use "*" alone, not in a list' : '"*" is not allowed here';
    const err = portError(p);
    if (err) return err;
  }
  return undefined;
}

export function splitList(s: string): string[] {
  return s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
}
