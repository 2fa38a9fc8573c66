import assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import type { RunningCa } from '../../ca/run.ts';
import { opensslVerify } from '../../ca/testing/fixtures.ts';
import { restartApiServer } from '../../lib/local-cluster/cluster.ts';
import { createServiceAccount, readSecret, secretText, startCa } from './ca-support.ts';
import { eventually } from './eventually.ts';
import { useLocalCluster } from './local-cluster.ts';

describe('CA across an API server restart (dedicated cluster)', () => {
  const env = useLocalCluster({ dedicated: true, namespacePrefix: 'ca-restart' });
  let ca: RunningCa | undefined;

  after(async () => {
    await ca?.close();
  });

  it('keeps writing and repairing Secrets after its watches failed and restarted', async () => {
    ca = await startCa(env.kc, env.namespace);
    await createServiceAccount(env.kc, env.namespace, 'before');
    await eventually(async () => {
      assert.ok(await readSecret(env.kc, env.namespace, 'istio.before'));
    });

    await restartApiServer(env.stateDir, 1500);

    // A ServiceAccount created after the restart, and a Secret deleted after it, are both handled.
    await createServiceAccount(env.kc, env.namespace, 'after');
    await env.kc
      .makeApiClient(CoreV1Api)
      .deleteNamespacedSecret({ namespace: env.namespace, name: 'istio.before' });
    for (const sa of ['after', 'before']) {
      const s = await eventually(
        async () => {
          const got = await readSecret(env.kc, env.namespace, `istio.${sa}`);
          assert.ok(got, `istio.${sa} not (re)written yet`);
          return got;
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      assert.match(
        opensslVerify([secretText(s, 'cert-chain.pem')], secretText(s, 'root-cert.pem')),
        /OK/,
      );
    }
  });
});
