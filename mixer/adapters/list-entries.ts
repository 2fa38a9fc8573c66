/**
 * A listchecker's entries: strings, case-insensitive strings, or IP addresses and CIDR ranges.
 * Built once per list (config or provider fetch); lookups are a Set probe or a range scan.
 */
import { cidrError } from '../../lib/net.ts';
import { IpAddress, formatValue, type Value } from '../../lib/mixer/value.ts';

export const EntryType = ['STRINGS', 'CASE_INSENSITIVE_STRINGS', 'IP_ADDRESSES'] as const;
export type EntryType = (typeof EntryType)[number];

interface Range {
  readonly bytes: Uint8Array;
  readonly bits: number;
}

export interface ListEntries {
  readonly size: number;
  has(v: Value): boolean;
}

/** Parses entries; throws with the offending entry when one is not of the type. */
export function buildEntries(type: EntryType, entries: readonly string[]): ListEntries {
  switch (type) {
    case 'STRINGS': {
      const set = new Set(entries);
      return { size: set.size, has: (v) => set.has(formatValue(v)) };
    }
    case 'CASE_INSENSITIVE_STRINGS': {
      const set = new Set(entries.map((e) => e.toLowerCase()));
      return { size: set.size, has: (v) => set.has(formatValue(v).toLowerCase()) };
    }
    case 'IP_ADDRESSES': {
      const ranges = entries.map(parseRange);
      return {
        size: ranges.length,
        has: (v) => {
          const ip =
            v instanceof IpAddress ? v : typeof v === 'string' ? IpAddress.parse(v) : undefined;
          return ip !== undefined && ranges.some((r) => inRange(ip, r));
        },
      };
    }
  }
}

function parseRange(entry: string): Range {
  const [addr = '', bits] = entry.split('/');
  const ip = IpAddress.parse(addr);
  const err = bits === undefined ? undefined : cidrError(entry);
  if (ip === undefined || err !== undefined) {
    throw new Error(`"${entry}" is not an IP address or CIDR range`);
  }
  const max = ip.bytes.length * 8;
  return { bytes: ip.bytes, bits: bits === undefined ? max : Math.min(Number(bits), max) };
}

function inRange(ip: IpAddress, r: Range): boolean {
  if (ip.bytes.length !== r.bytes.length) return false;
  let bits = r.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((ip.bytes[i] ?? 0) & mask) !== ((r.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** A provider's body: a YAML or JSON list of strings, or one entry per line (# comments). */
export function parseProviderBody(body: string): string[] {
  const t = body.trim();
  if (t.startsWith('[')) {
    const v: unknown = JSON.parse(t);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
    throw new Error('the list is not a JSON list of strings');
  }
  return t
    .split('\n')
    .map((l) =>
      l
        .replace(/#.*/, '')
        .trim()
        .replace(/^- +/, '')
        .replace(/^["']|["']$/g, ''),
    )
    .filter((l) => l !== '');
}
