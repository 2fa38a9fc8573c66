/**
 * lib/kube/credentials.ts and lib/kube/http.ts against a real API server, as `istio-lite pilot`
 * uses them (no @kubernetes/client-node): the kubeconfig's client certificate, lists, a refused
 * call read as the server's Status, and an informer over plain JSON that keeps what its transform
 * keeps and sees adds, updates and deletes.
 */
import assert from 'node:assert/strict';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { pino } from 'pino';
import { apiErrorCode, describeApiError } from '../../lib/kube/api-errors.ts';
import { StaticCredentials, loadKubeCredentials } from '../../lib/kube/credentials.ts';
import { KubeHttp } from '../../lib/kube/http.ts';
import { createInformer } from '../../lib/kube/informer.ts';
import { eventually } from './eventually.ts';
import { useLocalCluster } from './local-cluster.ts';

describe('KubeHttp on a real API server (no client-node)', function () {
  this.timeout(60_000);
  const env = useLocalCluster({ namespacePrefix: 'kube-http' });
  let http: KubeHttp;

  before(async () => {
    const creds = await loadKubeCredentials(env.kubeconfig, { env: {} });
    assert.ok(creds instanceof StaticCredentials, 'the local cluster needs nothing of client-node');
    http = new KubeHttp(creds);
  });

  it('lists with the client certificate, and reads a refusal as the server says it', async () => {
    const list = await http.list<{ metadata: { name: string } }>('/api/v1/namespaces', {
      fieldSelector: `metadata.name=${env.namespace}`,
    });
    assert.deepEqual(
      list.items.map((n) => n.metadata.name),
      [env.namespace],
    );
    assert.match(list.metadata?.resourceVersion ?? '', /^\d+$/);
    await assert.rejects(
      http.json('GET', `/api/v1/namespaces/${env.namespace}/configmaps/none`),
      (e: unknown) => {
        assert.equal(apiErrorCode(e), 404);
        assert.equal(describeApiError(e), 'HTTP 404 NotFound: configmaps "none" not found');
        return true;
      },
    );
  });

  it('lists in pages (limit, continue) with pageSize, transforming each page', async () => {
    const path = `/api/v1/namespaces/${env.namespace}/configmaps`;
    const labels = { test: 'kube-http-pages' };
    for (const name of ['p1', 'p2', 'p3']) {
      await http.json('POST', path, { metadata: { name, labels }, data: { v: name } });
    }
    const asked: string[] = [];
    const informer = createInformer<V1ConfigMap>({
      watcher: http,
      logger: pino({ level: 'silent' }),
      path,
      labelSelector: 'test=kube-http-pages',
      pageSize: 2,
      list: async (o) => {
        asked.push(`limit=${String(o.limit)} continue=${o.continue === undefined ? '-' : 'token'}`);
        const page = await http.list<V1ConfigMap>(path, o);
        asked.push(`got ${String(page.items.length)}`);
        return page;
      },
      transform: (cm) => ({ metadata: { name: cm.metadata?.name ?? '' } }),
      name: 'paged-configmaps',
    });
    informer.start();
    try {
      await informer.synced();
      assert.deepEqual(asked, ['limit=2 continue=-', 'got 2', 'limit=2 continue=token', 'got 1']);
      assert.deepEqual(
        informer
          .list()
          .map((c) => c.metadata?.name)
          .sort(),
        ['p1', 'p2', 'p3'],
      );
      // The list's resourceVersion carries over to the watch: a later change arrives.
      await http.json('POST', path, { metadata: { name: 'p4', labels } });
      await eventually(() => {
        assert.equal(informer.list().length, 4);
      });
    } finally {
      await informer.stop();
    }
  });

  it('feeds an informer plain JSON, transformed, with adds, updates and deletes', async () => {
    const path = `/api/v1/namespaces/${env.namespace}/configmaps`;
    const labels = { test: 'kube-http' };
    const informer = createInformer<V1ConfigMap>({
      watcher: http,
      logger: pino({ level: 'silent' }),
      path,
      // Not the namespace's kube-root-ca.crt: only what this test writes.
      labelSelector: 'test=kube-http',
      list: (o) => http.list<V1ConfigMap>(path, o),
      transform: (cm) => ({
        metadata: {
          name: cm.metadata?.name ?? '',
          namespace: cm.metadata?.namespace ?? '',
          resourceVersion: cm.metadata?.resourceVersion ?? '',
        },
        data: { v: cm.data?.['v'] ?? '' },
      }),
      name: 'test-configmaps',
    });
    const seen: string[] = [];
    informer.on('add', (c) => seen.push(`add ${c.metadata?.name ?? ''} ${c.data?.['v'] ?? ''}`));
    informer.on('update', (c) =>
      seen.push(`update ${c.metadata?.name ?? ''} ${c.data?.['v'] ?? ''}`),
    );
    informer.on('delete', (c) => seen.push(`delete ${c.metadata?.name ?? ''}`));
    await http.json('POST', path, {
      metadata: { name: 'before', labels },
      data: { v: '0', big: 'x'.repeat(1000) },
    });
    informer.start();
    try {
      await informer.synced();
      const cached = informer.get(env.namespace, 'before');
      assert.deepEqual(cached?.data, { v: '0' }, 'the cache holds what the transform kept');
      assert.equal(cached.metadata?.creationTimestamp, undefined);
      await http.json('POST', path, { metadata: { name: 'after', labels }, data: { v: '1' } });
      await http.json(
        'PATCH',
        `${path}/after`,
        { data: { v: '2' } },
        'application/merge-patch+json',
      );
      await http.json('DELETE', `${path}/before`);
      await eventually(() => {
        assert.deepEqual(seen, ['add before 0', 'add after 1', 'update after 2', 'delete before']);
      });
    } finally {
      await informer.stop();
    }
  });
});
