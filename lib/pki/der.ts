/**
 * The CA's hot path in DER, kept hand-written on purpose: reading PKCS#10 requests
 * (ca/csr-parse.ts) and writing the variable parts of workload leaves (lib/pki/workload-leaf.ts).
 * Everything else (roots, intermediates, serving certificates, CSRs, names, extensions) is
 * @peculiar/x509's. Why not the library here too: its ASN.1 codec (asn1js under
 * @peculiar/asn1-schema) builds an object tree per value; parsing one CSR with it costs more than
 * this whole issuance path (parse, verify, policy, build, sign, PEM) does, and building a leaf
 * with it costs several times more again, so the CA would issue several times fewer certificates
 * per second (figures in docs/design/2026-11-23-ca.md, 2026-12-02 entry). The reader returns
 * slices of the original bytes, so a signed part is verified exactly as it was received; input to
 * the reader is untrusted and every length is checked against the buffer. Tests check both halves
 * against the library: requests this reader accepts are parsed and verified by @peculiar/x509 to
 * the same fields (ca/csr-parse.test.ts), and leaves are byte for byte the library's encoding
 * (lib/pki/workload-leaf.test.ts).
 */

export const Tag = {
  Boolean: 0x01,
  Integer: 0x02,
  BitString: 0x03,
  OctetString: 0x04,
  Oid: 0x06,
  UtcTime: 0x17,
  GeneralizedTime: 0x18,
  Sequence: 0x30,
  Set: 0x31,
} as const;

// ---- encoding ----

function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV with an explicit identifier octet. */
export function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), lengthBytes(content.length), content]);
}

export function sequence(...items: readonly Buffer[]): Buffer {
  return tlv(Tag.Sequence, Buffer.concat(items));
}

/** Context-specific tag [n]; constructed for EXPLICIT tagging and for constructed IMPLICIT types. */
export function contextTag(n: number, content: Buffer, constructed: boolean): Buffer {
  return tlv(0x80 | (constructed ? 0x20 : 0) | n, content);
}

/** A non-negative INTEGER from unsigned big-endian bytes (adds the sign octet when needed). */
export function unsignedInteger(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const trimmed = bytes.subarray(i);
  const needsPad = ((trimmed[0] ?? 0) & 0x80) !== 0;
  return tlv(Tag.Integer, needsPad ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

export function octetString(content: Buffer): Buffer {
  return tlv(Tag.OctetString, content);
}

/** BIT STRING with `unusedBits` padding bits in the last octet. */
export function bitString(content: Buffer, unusedBits = 0): Buffer {
  return tlv(Tag.BitString, Buffer.concat([Buffer.from([unusedBits]), content]));
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** X.509 Time: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5). */
export function time(d: Date): Buffer {
  const y = d.getUTCFullYear();
  const rest =
    pad2(d.getUTCMonth() + 1) +
    pad2(d.getUTCDate()) +
    pad2(d.getUTCHours()) +
    pad2(d.getUTCMinutes()) +
    pad2(d.getUTCSeconds()) +
    'Z';
  if (y >= 1950 && y < 2050) return tlv(Tag.UtcTime, Buffer.from(pad2(y % 100) + rest, 'ascii'));
  return tlv(Tag.GeneralizedTime, Buffer.from(String(y).padStart(4, '0') + rest, 'ascii'));
}

// ---- reading ----

export interface DerNode {
  /** The identifier octet (class, constructed bit and tag number below 31). */
  readonly tag: number;
  /** The whole TLV, a slice of the input. */
  readonly raw: Buffer;
  /** The content octets, a slice of the input. */
  readonly content: Buffer;
}

export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

/** Reads one TLV at `offset`; returns it and the offset after it. */
export function readNode(buf: Buffer, offset = 0): { node: DerNode; next: number } {
  const tag = buf[offset];
  if (tag === undefined) throw new DerError('truncated: expected a tag');
  if ((tag & 0x1f) === 0x1f) throw new DerError('high tag numbers are not supported');
  let pos = offset + 1;
  const first = buf[pos++];
  if (first === undefined) throw new DerError('truncated: expected a length');
  let length = first;
  if (first & 0x80) {
    const n = first & 0x7f;
    if (n === 0 || n > 4) throw new DerError('indefinite or oversized length');
    length = 0;
    for (let i = 0; i < n; i++) {
      const b = buf[pos++];
      if (b === undefined) throw new DerError('truncated length');
      length = length * 256 + b;
    }
    if (length < 0x80) throw new DerError('non-minimal length encoding');
  }
  const end = pos + length;
  if (end > buf.length) throw new DerError('length runs past the end of the data');
  return {
    node: { tag, raw: buf.subarray(offset, end), content: buf.subarray(pos, end) },
    next: end,
  };
}

/** Parses exactly one TLV spanning the whole buffer. */
export function parseDer(buf: Buffer): DerNode {
  const { node, next } = readNode(buf, 0);
  if (next !== buf.length) throw new DerError('trailing bytes after the DER value');
  return node;
}

/** The children of a constructed node. */
export function children(node: DerNode): DerNode[] {
  if ((node.tag & 0x20) === 0)
    throw new DerError(`tag 0x${node.tag.toString(16)} is not constructed`);
  const out: DerNode[] = [];
  let pos = 0;
  while (pos < node.content.length) {
    const r = readNode(node.content, pos);
    out.push(r.node);
    pos = r.next;
  }
  return out;
}

export function expectTag(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (node === undefined) throw new DerError(`${what}: missing`);
  if (node.tag !== tag) {
    throw new DerError(
      `${what}: expected tag 0x${tag.toString(16)}, got 0x${node.tag.toString(16)}`,
    );
  }
  return node;
}

export function readOid(node: DerNode): string {
  expectTag(node, Tag.Oid, 'OID');
  const c = node.content;
  if (c.length === 0) throw new DerError('empty OID');
  const values: number[] = [];
  let v = 0;
  for (const b of c) {
    v = v * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      values.push(v);
      v = 0;
    }
  }
  if ((c[c.length - 1] ?? 0) & 0x80) throw new DerError('truncated OID');
  const [first = 0, ...rest] = values;
  const parts =
    first < 80 ? [Math.floor(first / 40), first % 40, ...rest] : [2, first - 80, ...rest];
  return parts.join('.');
}

export function readBoolean(node: DerNode): boolean {
  expectTag(node, Tag.Boolean, 'BOOLEAN');
  if (node.content.length !== 1) throw new DerError('BOOLEAN must be one octet');
  return node.content[0] !== 0;
}

/** A small non-negative INTEGER (versions, path lengths). */
export function readSmallInteger(node: DerNode): number {
  expectTag(node, Tag.Integer, 'INTEGER');
  if (node.content.length === 0 || node.content.length > 4)
    throw new DerError('INTEGER out of range');
  if (((node.content[0] ?? 0) & 0x80) !== 0) throw new DerError('negative INTEGER');
  return node.content.reduce((acc, b) => acc * 256 + b, 0);
}

/** BIT STRING content without the unused-bits octet (which must be 0 for keys and signatures). */
export function readBitStringBytes(node: DerNode): Buffer {
  expectTag(node, Tag.BitString, 'BIT STRING');
  if (node.content.length === 0) throw new DerError('empty BIT STRING');
  if (node.content[0] !== 0) throw new DerError('BIT STRING has unused bits (must be 0 here)');
  return node.content.subarray(1);
}
