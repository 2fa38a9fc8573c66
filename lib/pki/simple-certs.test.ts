import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSelfSignedCa, issueCertificate } from './simple-certs.ts';

describe('simple certificates (infrastructure PKI)', () => {
  const ca = createSelfSignedCa('test-ca', 3_600_000);

  it('issues a serving certificate openssl verifies for TLS servers', () => {
    const s = issueCertificate(ca, {
      commonName: 'svc',
      dnsNames: ['svc.ns.svc'],
      ips: ['127.0.0.1', '::1'],
      serverAuth: true,
      lifetimeMs: 60_000,
    });
    const dir = mkdtempSync(join(tmpdir(), 'simple-certs-'));
    writeFileSync(join(dir, 'ca.pem'), ca.cert);
    writeFileSync(join(dir, 'leaf.pem'), s.cert);
    const out = execFileSync(
      'openssl',
      ['verify', '-purpose', 'sslserver', '-CAfile', join(dir, 'ca.pem'), join(dir, 'leaf.pem')],
      { encoding: 'utf8' },
    );
    assert.match(out, /leaf\.pem: OK/);
    const x = new X509Certificate(s.cert);
    assert.match(
      x.subjectAltName ?? '',
      /DNS:svc\.ns\.svc, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1/,
    );
  });

  it('issues a client certificate with organizations (Kubernetes groups)', () => {
    const c = issueCertificate(ca, {
      commonName: 'admin',
      organizations: ['system:masters'],
      clientAuth: true,
      lifetimeMs: 60_000,
    });
    const x = new X509Certificate(c.cert);
    assert.match(x.subject, /O=system:masters/);
    assert.match(x.subject, /CN=admin/);
    assert.ok(x.verify(new X509Certificate(ca.cert).publicKey));
    assert.equal(x.ca, false);
    assert.equal(new X509Certificate(ca.cert).ca, true);
  });
});
