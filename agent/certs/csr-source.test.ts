import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { testRoot, type TestRoot } from '../testing/workload-certs.ts';
import { CsrCertificateSource, type CsrSigner } from './csr-source.ts';
import type { WorkloadCertificate } from './certificate-source.ts';

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });
const identity = 'spiffe://cluster.local/ns/shop/sa/reviews';

/** Signs CSRs with the real openssl and a test root, copying the requested SAN. */
class OpensslSigner implements CsrSigner {
  readonly tokens: (string | undefined)[] = [];
  failures = 0;
  private readonly root: TestRoot;
  private readonly dir: string;

  constructor(root: TestRoot, dir: string) {
    this.root = root;
    this.dir = dir;
    writeFileSync(join(dir, 'ca.crt'), root.certPem);
    writeFileSync(join(dir, 'ca.key'), root.keyPem);
  }

  async sign(req: { csrPem: string; token: string | undefined }): Promise<string[]> {
    await Promise.resolve();
    this.tokens.push(req.token);
    if (this.failures > 0) {
      this.failures--;
      throw Object.assign(new Error('14 UNAVAILABLE: CA restarting'), { code: 14 });
    }
    writeFileSync(join(this.dir, 'req.csr'), req.csrPem);
    execFileSync(
      'openssl',
      [
        'x509',
        '-req',
        '-in',
        'req.csr',
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '1',
        '-copy_extensions',
        'copy',
        '-out',
        'leaf.crt',
      ],
      { cwd: this.dir, stdio: 'pipe' },
    );
    return [readFileSync(join(this.dir, 'leaf.crt'), 'utf8'), this.root.certPem];
  }
}

describe('CSR certificate source', function () {
  this.timeout(20_000);
  let dir: string;
  let root: TestRoot;
  const sources: CsrCertificateSource[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'agent-csr-'));
    root = testRoot();
    writeFileSync(join(dir, 'root-cert.pem'), root.certPem);
    writeFileSync(join(dir, 'token'), 'sa-token-1\n');
  });

  after(() => {
    for (const s of sources) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function source(signer: CsrSigner, graceRatio = 0.5): CsrCertificateSource {
    const s = new CsrCertificateSource({
      signer,
      identity,
      tokenPath: join(dir, 'token'),
      rootCertPath: join(dir, 'root-cert.pem'),
      ttlMs: 24 * 3600_000,
      graceRatio,
      backoff: { initialMs: 20, maxMs: 100 },
      logger,
    });
    sources.push(s);
    return s;
  }

  it('gets a certificate for its identity with a key made here, authenticated by the token', async () => {
    const signer = new OpensslSigner(root, dir);
    const cert = await source(signer).start();
    assert.equal(cert.identity, identity);
    assert.equal(cert.rootPem, root.certPem);
    const chain = cert.chainPem.match(/BEGIN CERTIFICATE/g) ?? [];
    assert.equal(chain.length, 1, 'the root is served as ROOTCA, not in the chain');
    assert.ok(
      new X509Certificate(cert.chainPem).verify(new X509Certificate(root.certPem).publicKey),
    );
    assert.deepEqual(signer.tokens, ['sa-token-1']);
  });

  it('retries while the CA is unavailable', async () => {
    const signer = new OpensslSigner(root, dir);
    signer.failures = 2;
    const cert = await source(signer).start();
    assert.equal(cert.identity, identity);
    assert.equal(signer.tokens.length, 3);
  });

  it('renews at the grace ratio of the lifetime and tells its listeners', async () => {
    const signer = new OpensslSigner(root, dir);
    // A 1-day certificate renewed after 0.002% of it: about 1.7 s.
    const s = source(signer, 0.00002);
    const first = await s.start();
    writeFileSync(join(dir, 'token'), 'sa-token-2\n');
    const next = await new Promise<WorkloadCertificate>((resolve) => {
      s.onChange(resolve);
    });
    assert.notEqual(next.chainPem, first.chainPem);
    assert.notEqual(next.keyPem, first.keyPem, 'a new key for every certificate');
    assert.equal(s.current(), next);
    assert.equal(signer.tokens.at(-1), 'sa-token-2', 'the token is read again for each request');
  });
});
