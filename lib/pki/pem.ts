/**
 * PEM: base64 DER between `-----BEGIN <label>-----` and `-----END <label>-----` lines (RFC 7468).
 * Decoding is strict about labels and base64, since PEM arrives from untrusted callers.
 */
export interface PemBlock {
  readonly label: string;
  readonly der: Buffer;
}

export function pemEncode(label: string, der: Buffer): string {
  const b64 = der.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

const blockRe = /-----BEGIN ([A-Z0-9 ]+)-----([^-]*)-----END ([A-Z0-9 ]+)-----/g;

/** Every PEM block in `text`, in order. Throws on a malformed block; text between blocks is ignored. */
export function pemDecodeAll(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(blockRe)) {
    const [, begin, body, end] = m;
    if (begin === undefined || body === undefined || begin !== end) {
      throw new Error(`PEM block "${begin ?? ''}" ends with "${end ?? ''}"`);
    }
    const b64 = body.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) {
      throw new Error(`PEM block "${begin}" is not valid base64`);
    }
    out.push({ label: begin, der: Buffer.from(b64, 'base64') });
  }
  return out;
}

/** Exactly one block with `label`; a clear error otherwise. */
export function pemDecodeOne(text: string, label: string): Buffer {
  const blocks = pemDecodeAll(text);
  if (blocks.length === 0) throw new Error(`no PEM block found (expected ${label})`);
  if (blocks.length > 1) throw new Error(`expected one PEM block, found ${blocks.length}`);
  const [block] = blocks;
  if (block === undefined || block.label !== label) {
    throw new Error(`expected a PEM "${label}" block, got "${block?.label ?? ''}"`);
  }
  return block.der;
}

/** The certificates of a PEM bundle, each re-encoded as its own PEM string. */
export function splitCertificates(text: string): string[] {
  return pemDecodeAll(text)
    .filter((b) => b.label === 'CERTIFICATE')
    .map((b) => pemEncode('CERTIFICATE', b.der));
}
