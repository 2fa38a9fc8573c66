/**
 * Parsing a PKCS#10 certification request from untrusted PEM (RFC 2986): the key, the requested
 * SANs and basicConstraints, and a check of the request's own signature. Anything malformed is a
 * CaRefusal naming what was wrong. The subject and other requested extensions are read but never
 * copied into a certificate: the CA decides every field. Read with the hand-written DER reader of
 * lib/pki/der.ts rather than @peculiar/x509: the library's parse alone costs more than the whole
 * issuance does (see there); ca/csr-parse.test.ts holds this reader to the library's reading.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import {
  DerError,
  Tag,
  children,
  expectTag,
  parseDer,
  readBitStringBytes,
  readBoolean,
  readOid,
  readSmallInteger,
  type DerNode,
} from '../lib/pki/der.ts';
import { hashForSignatureOid } from '../lib/pki/keys.ts';
import { Oid } from '../lib/pki/oids.ts';
import { pemDecodeAll } from '../lib/pki/pem.ts';
import { errorMessage } from '../lib/errors.ts';
import { CaRefusal, RefusalReason } from './refusal.ts';

export interface RequestedSans {
  readonly uris: readonly string[];
  readonly dnsNames: readonly string[];
  readonly ips: readonly string[];
  /** rfc822Name, directoryName, otherName and the rest, by tag number. */
  readonly other: readonly number[];
}

export interface ParsedCsr {
  readonly publicKey: KeyObject;
  readonly spki: Buffer;
  readonly subjectEmpty: boolean;
  readonly sans: RequestedSans;
  /** basicConstraints CA:true was requested. */
  readonly requestsCa: boolean;
}

function bad(message: string, cause?: unknown): CaRefusal {
  return new CaRefusal(RefusalReason.BadCsr, `invalid CSR: ${message}`, { cause });
}

function ipText(b: Buffer): string {
  if (b.length === 4) return [...b].join('.');
  if (b.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
    return groups.join(':');
  }
  return `<${b.length}-byte address>`;
}

function parseSans(value: Buffer): RequestedSans {
  const uris: string[] = [];
  const dnsNames: string[] = [];
  const ips: string[] = [];
  const other: number[] = [];
  for (const gn of children(expectTag(parseDer(value), Tag.Sequence, 'GeneralNames'))) {
    const tagNumber = gn.tag & 0x1f;
    const text = gn.content.toString('latin1');
    if (gn.tag === 0x86) uris.push(text);
    else if (gn.tag === 0x82) dnsNames.push(text);
    else if (gn.tag === 0x87) ips.push(ipText(gn.content));
    else other.push(tagNumber);
  }
  return { uris, dnsNames, ips, other };
}

function requestsCa(value: Buffer): boolean {
  const fields = children(expectTag(parseDer(value), Tag.Sequence, 'BasicConstraints'));
  const first = fields[0];
  return first !== undefined && first.tag === Tag.Boolean && readBoolean(first);
}

function readExtensions(attributes: DerNode | undefined): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  if (attributes === undefined) return out;
  if (attributes.tag !== 0xa0) throw new DerError('attributes: expected [0]');
  for (const attr of children(attributes)) {
    const [type, values] = children(expectTag(attr, Tag.Sequence, 'Attribute'));
    if (type === undefined || readOid(type) !== Oid.extensionRequest) continue;
    for (const exts of children(expectTag(values, Tag.Set, 'Attribute values'))) {
      for (const ext of children(expectTag(exts, Tag.Sequence, 'Extensions'))) {
        const parts = children(expectTag(ext, Tag.Sequence, 'Extension'));
        const id = readOid(expectTag(parts[0], Tag.Oid, 'extnID'));
        const value = expectTag(parts[parts.length - 1], Tag.OctetString, 'extnValue').content;
        if (out.has(id)) throw new DerError(`extension ${id} appears twice`);
        out.set(id, value);
      }
    }
  }
  return out;
}

function verifySignature(
  info: DerNode,
  alg: DerNode | undefined,
  sig: DerNode | undefined,
  key: KeyObject,
): void {
  const [algOid] = children(expectTag(alg, Tag.Sequence, 'signatureAlgorithm'));
  const sigOid = readOid(expectTag(algOid, Tag.Oid, 'signature algorithm'));
  const hash = hashForSignatureOid(sigOid);
  if (hash === undefined)
    throw bad(`signature algorithm ${sigOid} is not supported (use ECDSA or RSA with SHA-256/384)`);
  const signature = readBitStringBytes(expectTag(sig, Tag.BitString, 'signature'));
  if (!verify(hash, info.raw, key, signature))
    throw bad('its signature does not verify with its own key');
}

/** Parses and verifies one PEM "CERTIFICATE REQUEST" (or "NEW CERTIFICATE REQUEST"). */
export function parseCsrPem(pem: string): ParsedCsr {
  let blocks;
  try {
    blocks = pemDecodeAll(pem);
  } catch (e) {
    throw bad(`not PEM: ${errorMessage(e)}`, e);
  }
  if (blocks.length !== 1) throw bad(`expected one PEM block, found ${blocks.length}`);
  const [block] = blocks;
  if (
    block === undefined ||
    (block.label !== 'CERTIFICATE REQUEST' && block.label !== 'NEW CERTIFICATE REQUEST')
  ) {
    throw bad(`expected a PEM "CERTIFICATE REQUEST", got "${block?.label ?? ''}"`);
  }
  return parseCsrDer(block.der);
}

export function parseCsrDer(der: Buffer): ParsedCsr {
  try {
    const [info, alg, sig, extra] = children(
      expectTag(parseDer(der), Tag.Sequence, 'CertificationRequest'),
    );
    if (extra !== undefined) throw new DerError('CertificationRequest has extra fields');
    const [version, subject, spkiNode, attributes] = children(
      expectTag(info, Tag.Sequence, 'CertificationRequestInfo'),
    );
    if (readSmallInteger(expectTag(version, Tag.Integer, 'version')) !== 0)
      throw new DerError('version must be 0');
    const spki = expectTag(spkiNode, Tag.Sequence, 'subjectPublicKeyInfo').raw;
    let publicKey: KeyObject;
    try {
      publicKey = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    } catch (e) {
      throw bad(`its public key cannot be read: ${errorMessage(e)}`, e);
    }
    verifySignature(expectTag(info, Tag.Sequence, 'info'), alg, sig, publicKey);
    const exts = readExtensions(attributes);
    const san = exts.get(Oid.subjectAltName);
    const bc = exts.get(Oid.basicConstraints);
    return {
      publicKey,
      spki,
      subjectEmpty: children(expectTag(subject, Tag.Sequence, 'subject')).length === 0,
      sans: san ? parseSans(san) : { uris: [], dnsNames: [], ips: [], other: [] },
      requestsCa: bc ? requestsCa(bc) : false,
    };
  } catch (e) {
    if (e instanceof CaRefusal) throw e;
    throw bad(`malformed PKCS#10: ${errorMessage(e)}`, e);
  }
}
