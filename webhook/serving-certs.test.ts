import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { certValidity, createCa, createServingCert, issuedBy } from './serving-certs.ts';

describe('webhook serving certificates', () => {
  const ca = createCa('test-ca', 3_600_000);

  it('issues a serving certificate for the names and IPs, signed by the CA', () => {
    const s = createServingCert(
      ca,
      ['istio-sidecar-injector.istio-system.svc'],
      ['127.0.0.1'],
      60_000,
    );
    assert.ok(issuedBy(s.cert, ca.cert));
    const x = new X509Certificate(s.cert);
    assert.match(x.subjectAltName ?? '', /DNS:istio-sidecar-injector\.istio-system\.svc/);
    assert.match(x.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
    assert.equal(x.ca, false);
    assert.equal(new X509Certificate(ca.cert).ca, true);
  });

  it('back-dates by at most a tenth of a short lifetime, so renewal stays inside it', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const v = certValidity(createServingCert(ca, ['x'], [], 3000, now).cert);
    assert.ok(v);
    // X.509 times have second precision: 300 ms of back-dating rounds to at most a second.
    assert.ok(now.getTime() - v.notBefore.getTime() <= 1000, v.notBefore.toISOString());
    assert.equal(v.notAfter.getTime() - now.getTime(), 3000);
  });

  it('refuses to call a certificate from another CA issued by this one', () => {
    const other = createCa('other', 3_600_000);
    assert.equal(issuedBy(createServingCert(other, ['x'], [], 60_000).cert, ca.cert), false);
  });
});
