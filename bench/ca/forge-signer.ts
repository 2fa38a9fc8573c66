/**
 * The baseline: the same issuance (parse and verify the CSR, build the leaf, sign, PEM) done the
 * way 0.2-era JavaScript CAs did it, entirely in node-forge (pure JS RSA; forge has no ECDSA).
 */
import forge from 'node-forge';

export interface ForgeCa {
  issue(csrPem: string, identity: string): string;
}

export function forgeCa(): ForgeCa {
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
  const root = forge.pki.createCertificate();
  root.publicKey = keys.publicKey;
  root.serialNumber = '01';
  root.validity.notBefore = new Date();
  root.validity.notAfter = new Date(Date.now() + 10 * 365 * 86_400_000);
  const attrs = [{ shortName: 'O', value: 'cluster.local' }];
  root.setSubject(attrs);
  root.setIssuer(attrs);
  root.setExtensions([{ name: 'basicConstraints', cA: true, critical: true }]);
  root.sign(keys.privateKey, forge.md.sha256.create());
  let serial = 1;
  return {
    issue(csrPem, identity) {
      const csr = forge.pki.certificationRequestFromPem(csrPem);
      if (!csr.verify()) throw new Error('CSR signature');
      const cert = forge.pki.createCertificate();
      if (csr.publicKey === null) throw new Error('CSR without key');
      cert.publicKey = csr.publicKey;
      cert.serialNumber = (++serial).toString(16).padStart(2, '0');
      cert.validity.notBefore = new Date();
      cert.validity.notAfter = new Date(Date.now() + 86_400_000);
      cert.setIssuer(attrs);
      cert.setSubject([]);
      cert.setExtensions([
        { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
        { name: 'basicConstraints', critical: true, cA: false },
        { name: 'subjectAltName', critical: true, altNames: [{ type: 6, value: identity }] },
      ]);
      cert.sign(keys.privateKey, forge.md.sha256.create());
      return forge.pki.certificateToPem(cert);
    },
  };
}
