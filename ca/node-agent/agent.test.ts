import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isIstioLiteError } from '../../lib/errors.ts';
import { createLogger } from '../../lib/log.ts';
import { splitCertificates } from '../../lib/pki/pem.ts';
import type { CertificateAuthority } from '../authority.ts';
import type { CaGrpcServer } from '../grpc-server.ts';
import { day, identity, opensslVerify, testAuthority, testRoot } from '../testing/fixtures.ts';
import { startTestCaServer } from '../testing/test-server.ts';
import { NodeAgent, type NodeAgentOptions } from './agent.ts';
import { freePort } from '../../lib/free-ports.ts';

const vm = identity('legacy', 'db');
const token = 'node-agent-test-token-42';
const silent = createLogger('node-agent-test', { level: 'silent' });

describe('node agent', () => {
  let authority: CertificateAuthority;
  let server: CaGrpcServer;
  let address: string;
  let dir: string;
  let tokenFile: string;
  let rootFile: string;

  const options = (over: Partial<NodeAgentOptions> = {}): NodeAgentOptions => ({
    caAddress: address,
    rootCertPem: authority.rootPem,
    certDir: dir,
    identity: vm,
    tokenFile,
    keyAlgorithm: 'ecdsa-p256',
    ttlSeconds: 0,
    graceRatio: 0.5,
    api: 'modern',
    logger: silent,
    backoff: { initialMs: 50, maxMs: 200 },
    ...over,
  });

  before(async () => {
    authority = testAuthority(await testRoot(), 30 * day);
    ({ server, address } = await startTestCaServer({
      authority,
      tokens: [{ token, namespace: 'legacy', serviceAccount: 'db' }],
    }));
  });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'node-agent-'));
    tokenFile = join(dir, 'token');
    rootFile = join(dir, 'mesh-root.pem');
    writeFileSync(tokenFile, `${token}\n`);
    writeFileSync(rootFile, authority.rootPem);
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  after(async () => {
    await server.close(1000);
  });

  for (const api of ['modern', 'legacy'] as const) {
    it(`writes cert-chain.pem, key.pem and root-cert.pem that openssl verifies (${api} API)`, async () => {
      const certDir = join(dir, 'certs');
      await new NodeAgent(options({ certDir, api })).ensure();
      const chain = readFileSync(join(certDir, 'cert-chain.pem'), 'utf8');
      const root = readFileSync(join(certDir, 'root-cert.pem'), 'utf8');
      assert.equal(root, authority.rootPem);
      assert.match(opensslVerify([...splitCertificates(chain), root], root), /OK/);
      assert.equal(new X509Certificate(chain).subjectAltName, `URI:${vm}`);
      assert.equal(statSync(join(certDir, 'key.pem')).mode & 0o777, 0o600);
    });
  }

  it('keeps a certificate that is before its renewal point, and renews with mTLS after it', async () => {
    const agent = new NodeAgent(options({ ttlSeconds: 4, graceRatio: 0.5 }));
    const first = await agent.ensure();
    assert.deepEqual(await agent.ensure(), first, 'no new certificate before the renewal point');
    rmSync(tokenFile); // renewal must not need the token
    await new Promise((r) => setTimeout(r, 2300));
    const second = await agent.ensure();
    assert.ok(second > first, 'renewed after half the lifetime');
  });

  it('renews on schedule while running, and stops on abort', async () => {
    const issued: Date[] = [];
    const agent = new NodeAgent(
      options({ ttlSeconds: 2, graceRatio: 0.5, onIssued: (d) => issued.push(d) }),
    );
    const abort = new AbortController();
    const run = agent.run(abort.signal);
    await new Promise((r) => setTimeout(r, 2600));
    abort.abort();
    await run;
    assert.ok(issued.length >= 2, `expected at least two issuances in 2.6 s, got ${issued.length}`);
  });

  it('fails with the CA’s reason when the identity is refused', async () => {
    const agent = new NodeAgent(options({ identity: identity('kube-system', 'admin') }));
    await assert.rejects(agent.ensure(), (e: unknown) => {
      assert.ok(isIstioLiteError(e));
      assert.match(
        e.message,
        /the CA refused the certificate request for spiffe:\/\/cluster\.local\/ns\/kube-system\/sa\/admin \(PERMISSION_DENIED\): CSR asks for identity .* but the caller is .*ns\/legacy\/sa\/db/,
      );
      return true;
    });
  });

  it('retries while the CA is down and succeeds when it comes up', async () => {
    const port = await freePort();
    const agent = new NodeAgent(options({ caAddress: `localhost:${port}`, requestTimeoutMs: 500 }));
    const done = agent.ensure();
    await new Promise((r) => setTimeout(r, 700));
    const late = await startTestCaServer({
      authority,
      tokens: [{ token, namespace: 'legacy', serviceAccount: 'db' }],
      port,
    });
    try {
      const notAfter = await done;
      assert.ok(notAfter.getTime() > Date.now());
    } finally {
      await late.server.close(0);
    }
  });

  it('exits 1 with a clear message from the command line when refused, 0 when issued', async () => {
    const run = promisify(execFile);
    const cli = join(import.meta.dirname, '../../cli/main.ts');
    const args = [
      'node-agent',
      '--once',
      '--ca-address',
      address,
      '--root-cert',
      rootFile,
      '--token-file',
      tokenFile,
      '--cert-dir',
      join(dir, 'out'),
    ];
    const ok = await run(
      process.execPath,
      [cli, ...args, '--namespace', 'legacy', '--service-account', 'db'],
      { env: { ...process.env, LOG_LEVEL: 'silent' } },
    );
    assert.equal(ok.stderr, '');
    const refused = await run(
      process.execPath,
      [cli, ...args, '--namespace', 'legacy', '--service-account', 'other'],
      { env: { ...process.env, LOG_LEVEL: 'silent' } },
    ).then(
      () => undefined,
      (e: unknown) => e as { code: number; stderr: string },
    );
    assert.ok(refused, 'the command must fail');
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /istio-lite node-agent: the CA refused the certificate request .*PERMISSION_DENIED/,
    );
  });
});
