import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { leafExtensions, randomSerial, tbsCertificateDer } from './certificate-builder.ts';
import { generateKeysSync, signatureAlgorithmFor, spkiDer, type KeyAlgorithm } from './keys.ts';
import { Oid } from './oids.ts';
import { WorkloadLeafWriter } from './workload-leaf.ts';
import { x509 } from './x509.ts';
import { name } from './x509-parts.ts';

describe('workload leaves (hand-written hot path)', () => {
  const leafKeys = [generateKeysSync('ecdsa-p256'), generateKeysSync('rsa-2048')];
  const identity = fc
    .tuple(fc.stringMatching(/^[a-z0-9-]{1,40}$/), fc.stringMatching(/^[a-z0-9.-]{1,60}$/))
    .map(([ns, sa]) => `spiffe://cluster.local/ns/${ns}/sa/${sa}`);
  // UTCTime through 2049, GeneralizedTime from 2050: both sides of the switch.
  const date = fc.date({
    min: new Date('1970-01-01T00:00:00Z'),
    max: new Date('2199-12-31T23:59:59Z'),
    noInvalidDate: true,
  });

  for (const alg of ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048'] as const satisfies KeyAlgorithm[]) {
    it(`writes exactly the TBSCertificate @peculiar/x509 encodes, ${alg} signer`, () => {
      const signer = generateKeysSync(alg);
      const issuer = name([
        { oid: Oid.organization, value: 'cluster.local' },
        { oid: Oid.commonName, value: 'istio-lite root CA' },
      ]);
      const issuerKeyId = randomSerial().subarray(0, 20);
      const writer = new WorkloadLeafWriter(issuer, issuerKeyId, signer.privateKey);
      fc.assert(
        fc.property(identity, date, date, fc.nat(leafKeys.length - 1), (id, a, b, k) => {
          const spki = spkiDer(leafKeys[k]?.publicKey ?? signer.publicKey);
          const serial = randomSerial();
          const fields = { serial, notBefore: a, notAfter: b, spki, identity: id };
          const reference = tbsCertificateDer(
            {
              subject: name([]),
              issuer,
              spki,
              notBefore: a,
              notAfter: b,
              extensions: leafExtensions({ issuerKeyId, sans: { uris: [id] }, subjectEmpty: true }),
            },
            signatureAlgorithmFor(signer.privateKey),
            serial,
          );
          assert.equal(writer.tbs(fields).toString('hex'), reference.toString('hex'));
        }),
        { numRuns: 200 },
      );
    });
  }

  it('signs leaves that node:crypto and @peculiar/x509 read back', () => {
    const signer = generateKeysSync('ecdsa-p256');
    const writer = new WorkloadLeafWriter(name([]), randomSerial(), signer.privateKey);
    const id = 'spiffe://cluster.local/ns/default/sa/foo';
    const der = writer.certificate({
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 3_600_000),
      spki: spkiDer(leafKeys[0]?.publicKey ?? signer.publicKey),
      identity: id,
    });
    const cert = new X509Certificate(der);
    assert.ok(cert.verify(signer.publicKey));
    assert.equal(cert.subjectAltName, `URI:${id}`);
    const parsed = new x509.X509Certificate(der);
    assert.deepEqual(parsed.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON(), [
      { type: 'url', value: id },
    ]);
  });
});
