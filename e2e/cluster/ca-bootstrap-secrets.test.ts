/**
 * The CA takes VM bootstrap tokens from Secrets of type istio-lite.io/bootstrap-token in its
 * namespace, on a real API server: a node agent gets its first certificate with a token, renews
 * over mutual TLS without it; an expired token, a deleted Secret's token and a token in a Secret of
 * another type are refused; a malformed Secret is one warning and changes nothing else.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { status } from '@grpc/grpc-js';
import { CoreV1Api, type V1Secret } from '@kubernetes/client-node';
import { NodeAgent } from '../../ca/node-agent/agent.ts';
import { runCa, type RunningCa } from '../../ca/run.ts';
import { parseCaConfig } from '../../ca/settings.ts';
import { csrFor, opensslVerify } from '../../ca/testing/fixtures.ts';
import {
  bootstrapTokenHash,
  bootstrapTokenSecret,
  newBootstrapToken,
} from '../../lib/ca/bootstrap-token-secret.ts';
import { createCaClient, type CaClient } from '../../lib/ca/client.ts';
import { createLogger } from '../../lib/log.ts';
import { grpcError } from '../../lib/testing/grpc-errors.ts';
import { eventually } from './eventually.ts';
import { useLocalCluster } from './local-cluster.ts';

const cli = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));

describe('CA bootstrap tokens from Secrets on a real API server', function () {
  this.timeout(60_000);
  const env = useLocalCluster({ namespacePrefix: 'ca-boot' });
  const logLines: string[] = [];
  let ca: RunningCa;
  let client: CaClient;
  let dir: string;
  const id = (sa: string) => `spiffe://cluster.local/ns/${env.namespace}/sa/${sa}`;
  const core = () => env.kc.makeApiClient(CoreV1Api);
  const create = (body: V1Secret) =>
    core().createNamespacedSecret({ namespace: env.namespace, body });
  const tokenSecret = (name: string, token: string, expiration?: Date) =>
    bootstrapTokenSecret({
      name,
      secretNamespace: env.namespace,
      node: name,
      namespace: env.namespace,
      serviceAccount: 'vm-app',
      tokenSha256: bootstrapTokenHash(token),
      ...(expiration === undefined ? {} : { expiration }),
    });
  const logged = (re: RegExp) => logLines.filter((l) => re.test(l));

  before(async () => {
    const config = parseCaConfig(
      {
        namespace: env.namespace,
        'listened-namespace': env.namespace,
        'grpc-host': '127.0.0.1',
        'grpc-port': '0',
        'monitoring-host': '127.0.0.1',
        'monitoring-port': '0',
      },
      {},
    );
    const logger = createLogger('ca-boot-e2e', {
      level: 'info',
      destination: { write: (l: string) => logLines.push(l) },
    });
    ca = await runCa(config, env.kc, logger);
    client = createCaClient({
      address: `127.0.0.1:${ca.grpcPort}`,
      rootCertPem: ca.authority.rootPem,
      serverName: `istio-ca.${env.namespace}.svc`,
    });
    dir = mkdtempSync(join(tmpdir(), 'ca-boot-'));
  });

  after(async () => {
    client.close();
    await ca.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('issues to a node agent with a token from a Secret, which then renews over mTLS without it', async () => {
    const token = newBootstrapToken();
    await create(tokenSecret('vm-1', token));
    const tokenFile = join(dir, 'istio-token');
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    const agent = new NodeAgent({
      caAddress: `127.0.0.1:${ca.grpcPort}`,
      rootCertPem: ca.authority.rootPem,
      serverName: `istio-ca.${env.namespace}.svc`,
      certDir: join(dir, 'certs'),
      identity: id('vm-app'),
      tokenFile,
      keyAlgorithm: 'ecdsa-p256',
      ttlSeconds: 3,
      graceRatio: 0.5,
      api: 'modern',
      logger: createLogger('node-agent-e2e', { level: 'silent' }),
      backoff: { initialMs: 100, maxMs: 300 },
    });
    // The Secret reaches the CA through its informer: the first tries may be refused.
    const first = await eventually(() => agent.ensure(), { timeoutMs: 10_000, intervalMs: 200 });
    const chain = readFileSync(join(dir, 'certs', 'cert-chain.pem'), 'utf8');
    assert.equal(new X509Certificate(chain).subjectAltName, `URI:${id('vm-app')}`);
    assert.match(opensslVerify([chain], ca.authority.rootPem), /OK/);
    assert.equal(logged(/"msg":"bootstrap token Secret loaded"/).length, 1);

    rmSync(tokenFile); // the renewal must not need the token
    await new Promise((r) => setTimeout(r, 1700));
    const second = await agent.ensure();
    assert.ok(second > first, 'renewed');
    const metrics = await ca.registry.metrics();
    assert.match(metrics, /success_cert_issuance_count\{[^}]*auth="bootstrap_token"\} 1\n/);
    assert.match(metrics, /success_cert_issuance_count\{[^}]*auth="client_cert"\} 1\n/);
  });

  it('gives the node-agent command its certificate (--once) with a token from a Secret', async () => {
    const token = newBootstrapToken();
    await create(tokenSecret('vm-cli', token));
    const rootFile = join(dir, 'root.pem');
    writeFileSync(rootFile, ca.authority.rootPem);
    writeFileSync(join(dir, 'cli-token'), token);
    const args = [
      cli,
      'node-agent',
      '--once',
      ...['--ca-address', `127.0.0.1:${ca.grpcPort}`],
      ...['--ca-server-name', `istio-ca.${env.namespace}.svc`],
      ...['--root-cert', rootFile, '--token-file', join(dir, 'cli-token')],
      ...['--namespace', env.namespace, '--service-account', 'vm-app'],
      ...['--cert-dir', join(dir, 'cli-certs')],
    ];
    await eventually(
      () =>
        promisify(execFile)(process.execPath, args, {
          env: { ...process.env, LOG_LEVEL: 'silent' },
        }),
      { timeoutMs: 10_000, intervalMs: 300 },
    );
    const chain = readFileSync(join(dir, 'cli-certs', 'cert-chain.pem'), 'utf8');
    assert.equal(new X509Certificate(chain).subjectAltName, `URI:${id('vm-app')}`);
  });

  it('refuses an expired token, and logs why', async () => {
    const token = newBootstrapToken();
    await create(tokenSecret('vm-old', token, new Date(Date.now() - 60_000)));
    const { csr } = await csrFor({ uris: [id('vm-app')] });
    await eventually(
      () =>
        assert.rejects(
          client.createCertificate({ csr, token }),
          grpcError(
            status.UNAUTHENTICATED,
            /bootstrap token of node vm-old \(Secret .*\) expired at/,
          ),
        ),
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    assert.ok(logged(/expired at.*"msg":"CSR refused"/).length >= 1, 'the refusal is logged');
  });

  it('refuses the token of a deleted Secret', async () => {
    const token = newBootstrapToken();
    await create(tokenSecret('vm-gone', token));
    const { csr } = await csrFor({ uris: [id('vm-app')] });
    await eventually(() => client.createCertificate({ csr, token }), {
      timeoutMs: 10_000,
      intervalMs: 200,
    });
    await core().deleteNamespacedSecret({ namespace: env.namespace, name: 'vm-gone' });
    await eventually(
      () =>
        assert.rejects(
          client.createCertificate({ csr, token }),
          grpcError(status.UNAUTHENTICATED, /ServiceAccount token rejected/),
        ),
      { timeoutMs: 10_000, intervalMs: 200 },
    );
  });

  it('ignores a token in a Secret of another type', async () => {
    const token = newBootstrapToken();
    const opaque = tokenSecret('vm-opaque', token);
    opaque.type = 'Opaque';
    await create(opaque);
    const { csr } = await csrFor({ uris: [id('vm-app')] });
    await new Promise((r) => setTimeout(r, 1000));
    await assert.rejects(
      client.createCertificate({ csr, token }),
      grpcError(status.UNAUTHENTICATED, /ServiceAccount token rejected/),
    );
  });

  it('skips a malformed Secret with one warning naming it and the field, and keeps serving', async () => {
    const body = tokenSecret('vm-bad', newBootstrapToken());
    body.data = { ...body.data, 'token-sha256': Buffer.from('not-a-hash').toString('base64') };
    await create(body);
    const warning =
      /vm-bad: data\.token-sha256: must be 64 hex digits.*"msg":"bootstrap token Secret is malformed; skipped"/;
    await eventually(
      () => {
        assert.equal(logged(warning).length, 1);
      },
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    // A change that does not fix it is not warned about again.
    const current = await core().readNamespacedSecret({ namespace: env.namespace, name: 'vm-bad' });
    current.metadata = current.metadata ?? {};
    current.metadata.annotations = { touched: 'yes' };
    await core().replaceNamespacedSecret({
      namespace: env.namespace,
      name: 'vm-bad',
      body: current,
    });
    const token = newBootstrapToken();
    await create(tokenSecret('vm-after', token));
    const { csr } = await csrFor({ uris: [id('vm-app')] });
    await eventually(() => client.createCertificate({ csr, token }), {
      timeoutMs: 10_000,
      intervalMs: 200,
    });
    assert.equal(logged(warning).length, 1);
  });
});
