import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { RunningCa } from '../../ca/run.ts';
import { createCaClient } from '../../lib/ca/client.ts';
import { csrFor, opensslVerify, testIntermediate, testRoot } from '../../ca/testing/fixtures.ts';
import { isIstioLiteError } from '../../lib/errors.ts';
import { splitCertificates } from '../../lib/pki/pem.ts';
import { createServiceAccount, readSecret, secretText, startCa } from './ca-support.ts';
import { eventually } from './eventually.ts';
import { useLocalCluster } from './local-cluster.ts';

/** The operator's own CA as Secret `cacerts` (an intermediate under their root). */
async function createCacerts(
  kc: KubeConfig,
  namespace: string,
  inter: ReturnType<typeof testIntermediate>,
): Promise<void> {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  await kc.makeApiClient(CoreV1Api).createNamespacedSecret({
    namespace,
    body: {
      metadata: { name: 'cacerts' },
      data: {
        'ca-cert.pem': b64(inter.caCertPem),
        'ca-key.pem': b64(inter.caKeyPem),
        'root-cert.pem': b64(inter.rootCertPem ?? ''),
        'cert-chain.pem': b64(inter.certChainPem ?? ''),
      },
    },
  });
}

describe('CA root on a real API server', () => {
  const env = useLocalCluster({ namespacePrefix: 'ca-root' });
  const running: RunningCa[] = [];
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ca-root-'));
  });

  afterEach(async () => {
    await Promise.all(running.splice(0).map((c) => c.close()));
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  async function freshNamespace(suffix: string): Promise<string> {
    const name = `${env.namespace}-${suffix}`;
    await env.kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
    return name;
  }

  it('ends with one root when two replicas start together', async () => {
    const ns = await freshNamespace('replicas');
    const [a, b] = await Promise.all([startCa(env.kc, ns), startCa(env.kc, ns)]);
    running.push(a, b);
    assert.equal(a.authority.rootPem, b.authority.rootPem);
    const secret = await readSecret(env.kc, ns, 'istio-ca-secret');
    assert.ok(secret);
    assert.equal(secret.type, 'istio.io/ca-root');
    assert.equal(secretText(secret, 'ca-cert.pem'), a.authority.rootPem);
    // Both replicas write Secrets; the one left is valid and chains to the one root.
    await createServiceAccount(env.kc, ns, 'shared');
    const s = await eventually(async () => {
      const got = await readSecret(env.kc, ns, 'istio.shared');
      assert.ok(got);
      return got;
    });
    await Promise.all([a.idle(), b.idle()]);
    assert.match(opensslVerify([secretText(s, 'cert-chain.pem')], a.authority.rootPem), /OK/);
    const years =
      (new X509Certificate(a.authority.rootPem).validToDate.getTime() - Date.now()) /
      (365.25 * 86_400_000);
    assert.ok(years > 9.9 && years < 10.1, `root TTL 10 years, got ${years}`);
  });

  it('uses cacerts: leaves chain to the given root through the intermediate; Secrets of the old root are re-issued', async () => {
    const ns = await freshNamespace('byo');
    // A self-signed CA first, which writes a Secret under its own root...
    const first = await startCa(env.kc, ns);
    await createServiceAccount(env.kc, ns, 'web');
    // ...for web and for the namespace's default ServiceAccount (made by its controller).
    await eventually(async () => {
      assert.ok(await readSecret(env.kc, ns, 'istio.web'));
      assert.ok(await readSecret(env.kc, ns, 'istio.default'));
    });
    await first.close();

    // ...then the operator brings their own CA.
    const corpRoot = await testRoot('ecdsa-p256', 'corp root');
    const inter = testIntermediate(corpRoot, 'corp intermediate');
    await createCacerts(env.kc, ns, inter);
    const ca = await startCa(env.kc, ns);
    running.push(ca);
    assert.match(ca.rootSource, /cacerts/);
    assert.equal(ca.authority.rootPem, new X509Certificate(corpRoot.caCertPem).toString());

    const s = await eventually(
      async () => {
        const got = await readSecret(env.kc, ns, 'istio.web');
        assert.ok(got);
        assert.equal(secretText(got, 'root-cert.pem'), ca.authority.rootPem, 'still the old root');
        return got;
      },
      { timeoutMs: 3000 },
    );
    const chain = splitCertificates(secretText(s, 'cert-chain.pem'));
    assert.equal(chain.length, 2, 'leaf and intermediate');
    assert.equal(new X509Certificate(chain[1]!).subject, 'O=corp intermediate');
    assert.match(opensslVerify(chain, ca.authority.rootPem), /OK/);
    const metrics = await ca.registry.metrics();
    assert.match(metrics, /citadel_secret_controller_writes_total\{cause="root_changed"\} 2/);
  });

  it('switches to a cacerts Secret added at run time: Secrets re-issued, old-root certificates can still renew', async () => {
    const ns = await freshNamespace('live');
    const ca = await startCa(env.kc, ns);
    running.push(ca);
    await createServiceAccount(env.kc, ns, 'api');
    const old = await eventually(async () => {
      const got = await readSecret(env.kc, ns, 'istio.api');
      assert.ok(got);
      return got;
    });
    const oldRoot = ca.authority.rootPem;

    const corpRoot = await testRoot('ecdsa-p256', 'live root');
    const inter = testIntermediate(corpRoot, 'live intermediate');
    await createCacerts(env.kc, ns, inter);
    const newRoot = new X509Certificate(corpRoot.caCertPem).toString();
    const renewed = await eventually(
      async () => {
        const got = await readSecret(env.kc, ns, 'istio.api');
        assert.ok(got);
        assert.equal(secretText(got, 'root-cert.pem'), newRoot);
        return got;
      },
      { timeoutMs: 5000 },
    );
    assert.equal(ca.authority.rootPem, newRoot);
    assert.match(
      opensslVerify(splitCertificates(secretText(renewed, 'cert-chain.pem')), newRoot),
      /OK/,
    );

    // A workload still holding its old-root certificate renews over mutual TLS.
    const id = `spiffe://cluster.local/ns/${ns}/sa/api`;
    const client = createCaClient({
      address: `localhost:${ca.grpcPort}`,
      rootCertPem: newRoot,
      clientCert: {
        keyPem: secretText(old, 'key.pem'),
        chainPem: secretText(old, 'cert-chain.pem'),
      },
    });
    try {
      const { csr } = await csrFor({ uris: [id] });
      const chain = await client.createCertificate({ csr });
      assert.equal(chain.at(-1), newRoot);
      assert.match(opensslVerify(chain, newRoot), /OK/);
    } finally {
      client.close();
    }
    assert.notEqual(oldRoot, newRoot);
  });

  it('uses signing files given by flags', async () => {
    const ns = await freshNamespace('flags');
    const root = await testRoot('rsa-2048', 'flag root');
    writeFileSync(join(dir, 'ca-cert.pem'), root.caCertPem);
    writeFileSync(join(dir, 'ca-key.pem'), root.caKeyPem);
    const ca = await startCa(env.kc, ns, {
      'signing-cert': join(dir, 'ca-cert.pem'),
      'signing-key': join(dir, 'ca-key.pem'),
    });
    running.push(ca);
    assert.match(ca.rootSource, /flags/);
    assert.equal(
      await readSecret(env.kc, ns, 'istio-ca-secret'),
      undefined,
      'no self-signed root created',
    );
  });

  it('refuses to start with a bad cacerts Secret, naming it', async () => {
    const ns = await freshNamespace('bad');
    await env.kc.makeApiClient(CoreV1Api).createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: { name: 'cacerts' },
        data: { 'ca-cert.pem': Buffer.from('junk').toString('base64') },
      },
    });
    await assert.rejects(startCa(env.kc, ns), (e: unknown) => {
      assert.ok(isIstioLiteError(e));
      assert.match(
        e.message,
        new RegExp(`Secret ${ns}/cacerts: must hold ca-cert.pem and ca-key.pem`),
      );
      return true;
    });
  });
});
