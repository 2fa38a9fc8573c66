/**
 * Building blocks shared by certificates and certification requests: distinguished names,
 * extensions and the subjectAltName GeneralNames (RFC 5280 4.1.2.4, 4.2).
 */
import { isIP } from 'node:net';
import { boolean, contextTag, octetString, oid, sequence, set, utf8String } from './der.ts';
import { Oid } from './oids.ts';

export interface NameAttribute {
  readonly oid: string;
  readonly value: string;
}

/** A Name: one RDN per attribute, values as UTF8String. An empty list is the empty Name. */
export function name(attrs: readonly NameAttribute[]): Buffer {
  return sequence(...attrs.map((a) => set(sequence(oid(a.oid), utf8String(a.value)))));
}

export interface SubjectAltNames {
  readonly uris?: readonly string[];
  readonly dnsNames?: readonly string[];
  readonly ips?: readonly string[];
}

function ipBytes(ip: string): Buffer {
  const family = isIP(ip);
  if (family === 4) return Buffer.from(ip.split('.').map((p) => Number(p)));
  if (family === 6) {
    const [head = '', tail = ''] = ip.split('::');
    const h = head === '' ? [] : head.split(':');
    const t = ip.includes('::') ? (tail === '' ? [] : tail.split(':')) : [];
    const groups = ip.includes('::')
      ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t]
      : h;
    const out = Buffer.alloc(16);
    groups.forEach((g, i) => out.writeUInt16BE(Number.parseInt(g, 16), i * 2));
    return out;
  }
  throw new Error(`"${ip}" is not an IP address`);
}

/** GeneralNames for the SAN extension: dNSName [2], uniformResourceIdentifier [6], iPAddress [7]. */
export function generalNames(sans: SubjectAltNames): Buffer {
  const items: Buffer[] = [];
  for (const d of sans.dnsNames ?? []) items.push(contextTag(2, Buffer.from(d, 'ascii'), false));
  for (const u of sans.uris ?? []) items.push(contextTag(6, Buffer.from(u, 'ascii'), false));
  for (const ip of sans.ips ?? []) items.push(contextTag(7, ipBytes(ip), false));
  return sequence(...items);
}

/** One Extension: extnID, critical (only when true, as DER requires), extnValue. */
export function extension(extnId: string, critical: boolean, value: Buffer): Buffer {
  return critical
    ? sequence(oid(extnId), boolean(true), octetString(value))
    : sequence(oid(extnId), octetString(value));
}

/** The SAN extension; critical when the subject is empty (RFC 5280 4.2.1.6). */
export function subjectAltNameExtension(sans: SubjectAltNames, critical: boolean): Buffer {
  return extension(Oid.subjectAltName, critical, generalNames(sans));
}
