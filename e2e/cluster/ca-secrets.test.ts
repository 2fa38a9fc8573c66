import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { connect, createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { CoreV1Api } from '@kubernetes/client-node';
import type { RunningCa } from '../../ca/run.ts';
import { opensslVerify, testAuthority, testRoot } from '../../ca/testing/fixtures.ts';
import { generateKeysSync, spkiDer } from '../../lib/pki/keys.ts';
import { splitCertificates } from '../../lib/pki/pem.ts';
import { createServiceAccount, readSecret, secretText, startCa } from './ca-support.ts';
import { eventually } from './eventually.ts';
import { useLocalCluster } from './local-cluster.ts';

interface Workload {
  readonly key: string;
  readonly chain: string;
  readonly root: string;
}

function handshake(
  server: Workload,
  client: Workload,
): Promise<{ serverSawClient: string; clientSawServer: string }> {
  return new Promise((resolve, reject) => {
    let serverSawClient = '';
    const srv = createServer(
      {
        key: server.key,
        cert: server.chain,
        ca: server.root,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (sock: TLSSocket) => {
        serverSawClient = sock.getPeerCertificate().subjectaltname ?? '';
        sock.end('hello');
      },
    );
    srv.on('tlsClientError', (e: Error) => {
      srv.close();
      reject(e);
    });
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as AddressInfo).port;
      const c = connect({
        host: '127.0.0.1',
        port,
        key: client.key,
        cert: client.chain,
        ca: client.root,
        // Workload certificates name a SPIFFE identity, not a host: check the identity instead.
        checkServerIdentity: () => undefined,
      });
      c.on('data', () => {
        const clientSawServer = c.getPeerCertificate().subjectaltname ?? '';
        c.end();
        srv.close();
        resolve({ serverSawClient, clientSawServer });
      });
      c.on('error', (e: Error) => {
        srv.close();
        reject(e);
      });
    });
  });
}

async function workload(
  env: { kc: Parameters<typeof readSecret>[0]; namespace: string },
  sa: string,
): Promise<Workload> {
  const s = await eventually(
    async () => {
      const got = await readSecret(env.kc, env.namespace, `istio.${sa}`);
      assert.ok(got, `Secret istio.${sa} not there yet`);
      return got;
    },
    { timeoutMs: 5000 },
  );
  return {
    key: secretText(s, 'key.pem'),
    chain: secretText(s, 'cert-chain.pem'),
    root: secretText(s, 'root-cert.pem'),
  };
}

describe('CA Secret controller (real API server)', () => {
  const env = useLocalCluster({ namespacePrefix: 'ca' });
  let ca: RunningCa;

  before(async () => {
    ca = await startCa(env.kc, env.namespace);
  });

  after(async () => {
    await ca.close();
  });

  it('writes istio.<sa> within 2 s of a ServiceAccount, with a chain openssl verifies', async () => {
    const started = Date.now();
    await createServiceAccount(env.kc, env.namespace, 'app-a');
    const secret = await eventually(
      async () => {
        const s = await readSecret(env.kc, env.namespace, 'istio.app-a');
        assert.ok(s, 'Secret istio.app-a not there yet');
        return s;
      },
      { timeoutMs: 2000 },
    );
    assert.ok(Date.now() - started < 2000);
    assert.equal(secret.type, 'istio.io/key-and-cert');
    assert.deepEqual(Object.keys(secret.data ?? {}).sort(), [
      'cert-chain.pem',
      'key.pem',
      'root-cert.pem',
    ]);
    const root = secretText(secret, 'root-cert.pem');
    assert.equal(root, ca.authority.rootPem);
    const chain = splitCertificates(secretText(secret, 'cert-chain.pem'));
    assert.match(opensslVerify([...chain, root], root, 'sslclient'), /OK/);
    const leaf = new X509Certificate(chain[0]!);
    assert.equal(leaf.subjectAltName, `URI:spiffe://cluster.local/ns/${env.namespace}/sa/app-a`);
    const lifetimeH = (leaf.validToDate.getTime() - leaf.validFromDate.getTime()) / 3.6e6;
    assert.ok(lifetimeH > 24 && lifetimeH < 24.1, `24 h (+ skew) lifetime, got ${lifetimeH}`);
    const key = secretText(secret, 'key.pem');
    const { createPrivateKey, createPublicKey } = await import('node:crypto');
    assert.ok(spkiDer(createPublicKey(createPrivateKey(key))).equals(spkiDer(leaf.publicKey)));
  });

  it('lets two workloads complete mutual TLS with their Secrets, and refuses a foreign root', async () => {
    await createServiceAccount(env.kc, env.namespace, 'frontend');
    await createServiceAccount(env.kc, env.namespace, 'backend');
    const frontend = await workload(env, 'frontend');
    const backend = await workload(env, 'backend');
    const seen = await handshake(backend, frontend);
    assert.equal(
      seen.serverSawClient,
      `URI:spiffe://cluster.local/ns/${env.namespace}/sa/frontend`,
    );
    assert.equal(seen.clientSawServer, `URI:spiffe://cluster.local/ns/${env.namespace}/sa/backend`);

    const foreignCa = testAuthority(await testRoot());
    const keys = generateKeysSync('ecdsa-p256');
    const id = `spiffe://cluster.local/ns/${env.namespace}/sa/frontend`;
    const foreign: Workload = {
      key: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      chain: foreignCa.issueWorkload(spkiDer(keys.publicKey), id, 3_600_000).certPem,
      root: frontend.root, // it trusts our root, but its certificate is from another
    };
    await assert.rejects(
      handshake(backend, foreign),
      /certificate|alert|socket hang up|ECONNRESET/i,
    );
    // And a server with a foreign certificate is refused by our client.
    await assert.rejects(
      handshake({ ...foreign, root: foreignCa.rootPem }, frontend),
      /self[- ]signed|unable to get|certificate/i,
    );
  });

  it('puts a deleted Secret back with a new certificate', async () => {
    const before = await workload(env, 'app-a');
    await env.kc
      .makeApiClient(CoreV1Api)
      .deleteNamespacedSecret({ namespace: env.namespace, name: 'istio.app-a' });
    const after = await eventually(
      async () => {
        const w = await workload(env, 'app-a');
        assert.notEqual(w.chain, before.chain);
        return w;
      },
      { timeoutMs: 3000 },
    );
    assert.match(opensslVerify([after.chain], after.root), /OK/);
  });

  it('rewrites a Secret whose content is invalid', async () => {
    const core = env.kc.makeApiClient(CoreV1Api);
    // Let writes from earlier steps (the re-created Secret) settle, so none races the break.
    const writes = async () =>
      [
        ...(await ca.registry.metrics()).matchAll(
          /^citadel_secret_controller_writes_total\{[^}]*\} (\d+)$/gm,
        ),
      ].reduce((n, m) => n + Number(m[1]), 0);
    await eventually(async () => {
      const a = await writes();
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(await writes(), a, 'the controller is still writing');
    });
    const s = await readSecret(env.kc, env.namespace, 'istio.app-a');
    assert.ok(s);
    const broken = {
      metadata: {
        name: 'istio.app-a',
        namespace: env.namespace,
        resourceVersion: s.metadata?.resourceVersion ?? '',
      },
      type: 'istio.io/key-and-cert',
      data: { ...s.data, 'key.pem': Buffer.from('not a key').toString('base64') },
    };
    await core.replaceNamespacedSecret({
      namespace: env.namespace,
      name: 'istio.app-a',
      body: broken,
    });
    await eventually(
      async () => {
        const w = await workload(env, 'app-a');
        assert.notEqual(w.key, 'not a key');
        assert.match(opensslVerify([w.chain], w.root), /OK/);
        // At least once: under load the controller may see the broken Secret twice (event and
        // resync).
        assert.match(
          await ca.registry.metrics(),
          /citadel_secret_controller_writes_total\{cause="invalid"\} [1-9]\d*/,
        );
      },
      { timeoutMs: 5000 },
    );
  });

  it('removes the Secret with its ServiceAccount', async () => {
    await createServiceAccount(env.kc, env.namespace, 'short-lived');
    await workload(env, 'short-lived');
    await env.kc
      .makeApiClient(CoreV1Api)
      .deleteNamespacedServiceAccount({ namespace: env.namespace, name: 'short-lived' });
    await eventually(
      async () => {
        assert.equal(await readSecret(env.kc, env.namespace, 'istio.short-lived'), undefined);
      },
      { timeoutMs: 3000 },
    );
  });

  it('serves /healthz, /ready and /metrics', async () => {
    const base = `http://127.0.0.1:${ca.monitoringPort}`;
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    const ready = await fetch(`${base}/ready`);
    assert.equal(ready.status, 200, await ready.text());
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /citadel_secret_controller_writes_total\{cause="created"\} [1-9]/);
    assert.match(metrics, /citadel_server_root_cert_expiry_timestamp [0-9.e+]+/);
  });

  it('keeps the root and the Secrets across a restart', async () => {
    const root = ca.authority.rootPem;
    const before = await readSecret(env.kc, env.namespace, 'istio.frontend');
    await ca.close();
    ca = await startCa(env.kc, env.namespace);
    assert.equal(ca.authority.rootPem, root);
    assert.match(ca.rootSource, /istio-ca-secret/);
    await ca.idle();
    const after = await readSecret(env.kc, env.namespace, 'istio.frontend');
    assert.equal(
      after?.metadata?.resourceVersion,
      before?.metadata?.resourceVersion,
      'not rewritten',
    );
  });
});

describe('CA Secret controller: short TTL', () => {
  const env = useLocalCluster({ namespacePrefix: 'ca-ttl' });
  let ca: RunningCa | undefined;

  after(async () => {
    await ca?.close();
  });

  it('re-issues before expiry at the grace ratio', async () => {
    ca = await startCa(env.kc, env.namespace, {
      'workload-cert-ttl': '4s',
      'workload-cert-grace-period-ratio': '0.5',
    });
    await createServiceAccount(env.kc, env.namespace, 'fast');
    const first = new X509Certificate((await workload(env, 'fast')).chain);
    const second = await eventually(
      async () => {
        const c = new X509Certificate((await workload(env, 'fast')).chain);
        assert.notEqual(c.serialNumber, first.serialNumber);
        return c;
      },
      { timeoutMs: 5000, intervalMs: 100 },
    );
    assert.ok(Date.now() < first.validToDate.getTime(), 're-issued before the first one expired');
    assert.ok(second.validToDate > first.validToDate);
  });
});
