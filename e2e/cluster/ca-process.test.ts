import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { createCaClient } from '../../lib/ca/client.ts';
import { csrFor, opensslVerify } from '../../ca/testing/fixtures.ts';
import { createServiceAccount, readSecret } from './ca-support.ts';
import { eventually } from './eventually.ts';
import { useLocalCluster } from './local-cluster.ts';

const cli = join(import.meta.dirname, '../../cli/main.ts');

describe('istio-lite ca as a process', () => {
  const env = useLocalCluster({ namespacePrefix: 'ca-proc' });
  let proc: ChildProcess | undefined;
  let logs = '';

  after(() => {
    if (proc?.exitCode === null) proc.kill('SIGKILL');
  });

  it('logs JSON, becomes ready, serves CSRs and Secrets, and exits 0 on SIGTERM', async () => {
    const p = spawn(
      process.execPath,
      [
        cli,
        'ca',
        '--kubeconfig',
        env.kubeconfig,
        '--namespace',
        env.namespace,
        '--listened-namespace',
        env.namespace,
        '--grpc-host',
        '127.0.0.1',
        '--grpc-port',
        '0',
        '--grpc-hostname',
        'localhost',
        '--monitoring-host',
        '127.0.0.1',
        '--monitoring-port',
        '0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info' } },
    );
    proc = p;
    p.stdout.on('data', (d: Buffer) => (logs += d.toString()));
    p.stderr.on('data', (d: Buffer) => (logs += d.toString()));
    const ready = await eventually(
      () => {
        const line = logs.split('\n').find((l) => l.includes('"CA ready"'));
        assert.ok(line, `no "CA ready" yet:\n${logs}`);
        return JSON.parse(line) as { grpcPort: number; monitoringPort: number };
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    for (const line of logs.split('\n').filter((l) => l !== '')) {
      const parsed = JSON.parse(line) as { level?: unknown; component?: unknown };
      assert.equal(typeof parsed.level, 'number', `not a JSON log line: ${line}`);
      assert.equal(parsed.component, 'ca');
    }
    const r = await fetch(`http://127.0.0.1:${ready.monitoringPort}/ready`);
    assert.equal(r.status, 200, await r.text());

    await createServiceAccount(env.kc, env.namespace, 'proc-app');
    await eventually(async () => {
      assert.ok(await readSecret(env.kc, env.namespace, 'istio.proc-app'));
    });
    const root = await readSecret(env.kc, env.namespace, 'istio-ca-secret');
    const rootPem = Buffer.from(root?.data?.['ca-cert.pem'] ?? '', 'base64').toString();
    const client = createCaClient({ address: `localhost:${ready.grpcPort}`, rootCertPem: rootPem });
    try {
      const { csr } = await csrFor({
        uris: [`spiffe://cluster.local/ns/${env.namespace}/sa/proc-app`],
      });
      await assert.rejects(client.createCertificate({ csr }), /UNAUTHENTICATED/);
      const tr = await env.kc.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
        namespace: env.namespace,
        name: 'proc-app',
        body: { spec: { expirationSeconds: 600 } },
      });
      const chain = await client.createCertificate({ csr, token: tr.status?.token ?? '' });
      assert.match(opensslVerify(chain, rootPem), /OK/);
    } finally {
      client.close();
    }

    const exit = once(p, 'exit');
    p.kill('SIGTERM');
    const [code] = (await exit) as [number | null];
    assert.equal(code, 0, logs);
    assert.match(logs, /"msg":"shutting down"/);
  });
});
