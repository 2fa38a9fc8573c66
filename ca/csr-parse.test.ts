import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { basicConstraintsExtension } from '../lib/pki/certificate-builder.ts';
import { createCsrDer } from '../lib/pki/csr.ts';
import { generateKeysSync, spkiDer, type KeyAlgorithm } from '../lib/pki/keys.ts';
import { Oid } from '../lib/pki/oids.ts';
import { pemDecodeOne } from '../lib/pki/pem.ts';
import type { SubjectAltNames } from '../lib/pki/x509-parts.ts';
import { x509 } from '../lib/pki/x509.ts';
import { parseCsrDer, type ParsedCsr } from './csr-parse.ts';
import { isCaRefusal } from './refusal.ts';

/**
 * ca/csr-parse.ts reads untrusted requests with the hand-written DER reader (lib/pki/der.ts says
 * why); @peculiar/x509 is the reference: whatever the reader accepts, the library must parse and
 * verify to the same key, SANs and CA flag, and anything else must be a bad_csr refusal.
 */
async function libraryView(der: Buffer): Promise<ParsedView> {
  const csr = new x509.Pkcs10CertificateRequest(der);
  assert.ok(await csr.verify(), 'the library verifies the signature');
  const san = csr.getExtension(Oid.subjectAltName);
  const bc = csr.getExtension(Oid.basicConstraints);
  const names = san instanceof x509.SubjectAlternativeNameExtension ? san.names.toJSON() : [];
  return {
    spki: Buffer.from(csr.publicKey.rawData).toString('hex'),
    uris: names.filter((n) => n.type === 'url').map((n) => n.value),
    dnsNames: names.filter((n) => n.type === 'dns').map((n) => n.value),
    ips: names.filter((n) => n.type === 'ip').map((n) => canonicalIp(n.value)),
    requestsCa: bc instanceof x509.BasicConstraintsExtension && bc.ca,
  };
}

interface ParsedView {
  readonly spki: string;
  readonly uris: readonly string[];
  readonly dnsNames: readonly string[];
  readonly ips: readonly string[];
  readonly requestsCa: boolean;
}

/** IPv6 in its shortest form (the reader writes all eight groups, the library compresses). */
function canonicalIp(ip: string): string {
  return isIPv6(ip) ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

function view(p: ParsedCsr): ParsedView {
  return {
    spki: p.spki.toString('hex'),
    uris: p.sans.uris,
    dnsNames: p.sans.dnsNames,
    ips: p.sans.ips.map(canonicalIp),
    requestsCa: p.requestsCa,
  };
}

const me = 'spiffe://cluster.local/ns/default/sa/foo';

const requests: { name: string; alg: KeyAlgorithm; sans: SubjectAltNames; ca?: boolean }[] = [
  { name: 'ECDSA P-256, one URI', alg: 'ecdsa-p256', sans: { uris: [me] } },
  { name: 'ECDSA P-384, one URI', alg: 'ecdsa-p384', sans: { uris: [me] } },
  { name: 'RSA 2048, one URI', alg: 'rsa-2048', sans: { uris: [me] } },
  {
    name: 'URIs, DNS names and IPs',
    alg: 'ecdsa-p256',
    sans: { uris: [me, `${me}x`], dnsNames: ['a.example.com'], ips: ['10.0.0.1', '::1'] },
  },
  { name: 'no SAN', alg: 'ecdsa-p256', sans: {} },
  { name: 'CA:true', alg: 'ecdsa-p256', sans: { uris: [me] }, ca: true },
];

describe('CSR parsing against @peculiar/x509', () => {
  for (const r of requests) {
    it(`reads what the library reads: ${r.name}`, async () => {
      const keys = generateKeysSync(r.alg);
      const der = createCsrDer({
        ...keys,
        sans: r.sans,
        extraExtensions: r.ca ? [basicConstraintsExtension(true)] : [],
      });
      const parsed = parseCsrDer(der);
      assert.equal(parsed.spki.toString('hex'), spkiDer(keys.publicKey).toString('hex'));
      assert.deepEqual(view(parsed), await libraryView(der));
    });
  }

  it('reads a request made by the openssl command', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'csr-parse-'));
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-new',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-keyout',
          join(dir, 'k.pem'),
          '-out',
          join(dir, 'r.pem'),
          '-subj',
          '/O=workload',
          '-addext',
          `subjectAltName=URI:${me}`,
        ],
        { stdio: 'pipe' },
      );
      const der = pemDecodeOne(readFileSync(join(dir, 'r.pem'), 'utf8'), 'CERTIFICATE REQUEST');
      const parsed = parseCsrDer(der);
      assert.equal(parsed.subjectEmpty, false);
      assert.deepEqual(view(parsed), await libraryView(der));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('accepts a damaged request only when the library verifies it to the same fields', async () => {
    const valid = createCsrDer({ ...generateKeysSync('ecdsa-p256'), sans: { uris: [me] } });
    const damage = fc.oneof(
      fc.record({
        kind: fc.constant('flip'),
        at: fc.nat(valid.length - 1),
        bits: fc.integer({ min: 1, max: 255 }),
      }),
      fc.record({ kind: fc.constant('cut'), at: fc.nat(valid.length - 1), bits: fc.constant(0) }),
      fc.record({ kind: fc.constant('insert'), at: fc.nat(valid.length), bits: fc.nat(255) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(damage, { minLength: 1, maxLength: 3 }), async (edits) => {
        let der = Buffer.from(valid);
        for (const e of edits) {
          const at = Math.min(e.at, der.length);
          if (e.kind === 'flip' && at < der.length) der[at] = (der[at] ?? 0) ^ e.bits;
          else if (e.kind === 'cut') der = der.subarray(0, at);
          else der = Buffer.concat([der.subarray(0, at), Buffer.from([e.bits]), der.subarray(at)]);
        }
        let parsed: ParsedCsr;
        try {
          parsed = parseCsrDer(der);
        } catch (e) {
          assert.ok(
            isCaRefusal(e) && e.reason === 'bad_csr',
            `a bad_csr refusal, got ${String(e)}`,
          );
          assert.match(e.message, /^invalid CSR: /);
          return;
        }
        assert.deepEqual(view(parsed), await libraryView(der));
      }),
      { numRuns: 1000 },
    );
  });
});
