/**
 * lib/kube/informer.ts against a real API server: events for creates, updates and deletes; and
 * recovery when the watch is cut (connection reset and refused, via a TCP proxy) or the API
 * server restarts, catching up on what changed meanwhile.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { isIstioLiteError } from '../../lib/errors.ts';
import { createInformer, type Informer } from '../../lib/kube/informer.ts';
import { createLogger, type Logger } from '../../lib/log.ts';
import { restartApiServer } from '../../lib/local-cluster/cluster.ts';
import { eventually } from './eventually.ts';
import { useLocalCluster } from './local-cluster.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

interface LogLine {
  msg: string;
  [k: string]: unknown;
}

function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = createLogger('informer-test', {
    level: 'debug',
    destination: {
      write(s: string) {
        lines.push(JSON.parse(s) as LogLine);
      },
    },
  });
  return { logger, lines };
}

/** A copy of `kc` that talks to `server` instead (same credentials; the cert covers 127.0.0.1). */
function withServer(kc: KubeConfig, server: string): KubeConfig {
  const copy = new KubeConfig();
  copy.loadFromString(kc.exportConfig());
  const current = copy.getCurrentCluster()!.name;
  copy.clusters = copy.clusters.map((c) => (c.name === current ? { ...c, server } : c));
  return copy;
}

type Event = [type: 'add' | 'update' | 'delete', name: string];

/** The test's own events (kube-root-ca.crt is every namespace's, published by its controller). */
function record(inf: Informer<V1ConfigMap>): Event[] {
  const events: Event[] = [];
  const push = (type: Event[0], o: V1ConfigMap) => {
    const name = o.metadata?.name ?? '';
    if (name !== 'kube-root-ca.crt') events.push([type, name]);
  };
  inf.on('add', (o) => {
    push('add', o);
  });
  inf.on('update', (o) => {
    push('update', o);
  });
  inf.on('delete', (o) => {
    push('delete', o);
  });
  return events;
}

function configMapInformer(
  kc: KubeConfig,
  namespace: string,
  logger: Logger,
  extra: { labelSelector?: string; transform?: (o: V1ConfigMap) => V1ConfigMap } = {},
): Informer<V1ConfigMap> {
  const core = kc.makeApiClient(CoreV1Api);
  return createInformer<V1ConfigMap>({
    kc,
    path: `/api/v1/namespaces/${namespace}/configmaps`,
    list: (o) => core.listNamespacedConfigMap({ namespace, ...o }),
    objectType: 'V1ConfigMap',
    logger,
    name: 'configmaps',
    backoff: { initialMs: 100, maxMs: 800 },
    ...extra,
  });
}

function names(inf: Informer<V1ConfigMap>): string[] {
  return inf
    .list()
    .map((o) => o.metadata?.name ?? '')
    .filter((n) => n !== 'kube-root-ca.crt')
    .sort();
}

describe('informer against a real API server', function () {
  const env = useLocalCluster({ namespacePrefix: 'informer' });
  const stoppers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const s of stoppers.splice(0)) await s();
  });

  function cm(
    name: string,
    data: Record<string, string> = {},
    labels: Record<string, string> = {},
  ) {
    return { metadata: { name, namespace: env.namespace, labels }, data };
  }

  it('lists what exists, then turns creates, updates and deletes into events', async () => {
    const core = env.kc.makeApiClient(CoreV1Api);
    const ns = env.namespace;
    await core.createNamespacedConfigMap({ namespace: ns, body: cm('pre', { a: '1' }) });
    const { logger } = captureLogger();
    const inf = configMapInformer(env.kc, ns, logger);
    stoppers.push(() => inf.stop());
    const events = record(inf);
    const olds: string[] = [];
    inf.on('update', (o, old) => olds.push(`${old.data?.['a'] ?? ''}->${o.data?.['a'] ?? ''}`));

    assert.equal(inf.hasSynced(), false);
    inf.start();
    await inf.synced();
    assert.equal(inf.hasSynced(), true);
    assert.deepEqual(names(inf), ['pre']);
    assert.deepEqual(events, [['add', 'pre']]);

    await core.createNamespacedConfigMap({ namespace: ns, body: cm('a', { a: '1' }) });
    await eventually(() => {
      assert.deepEqual(events.at(-1), ['add', 'a']);
    });
    await core.replaceNamespacedConfigMap({ name: 'a', namespace: ns, body: cm('a', { a: '2' }) });
    await eventually(() => {
      assert.deepEqual(events.at(-1), ['update', 'a']);
    });
    assert.deepEqual(olds, ['1->2']);
    assert.equal(inf.get(ns, 'a')?.data?.['a'], '2');
    // Watched objects have the typed list's shape (objectType), not raw JSON.
    assert.ok(inf.get(ns, 'a')?.metadata?.creationTimestamp instanceof Date);
    assert.ok(inf.get(ns, 'pre')?.metadata?.creationTimestamp instanceof Date);

    await core.deleteNamespacedConfigMap({ name: 'a', namespace: ns });
    await eventually(() => {
      assert.deepEqual(events.at(-1), ['delete', 'a']);
    });
    assert.equal(inf.get(ns, 'a'), undefined);

    await inf.stop();
    const before = events.length;
    await core.createNamespacedConfigMap({ namespace: ns, body: cm('after-stop') });
    await sleep(300);
    assert.equal(events.length, before, 'no events after stop()');
  });

  it('keeps to its label selector, in the list and in the watch', async () => {
    const core = env.kc.makeApiClient(CoreV1Api);
    const ns = env.namespace;
    await core.createNamespacedConfigMap({ namespace: ns, body: cm('sel-yes', {}, { app: 'x' }) });
    await core.createNamespacedConfigMap({ namespace: ns, body: cm('sel-no', {}, { app: 'y' }) });
    const inf = configMapInformer(env.kc, ns, captureLogger().logger, { labelSelector: 'app=x' });
    stoppers.push(() => inf.stop());
    const events = record(inf);
    inf.start();
    await inf.synced();
    assert.deepEqual(names(inf), ['sel-yes']);
    await core.createNamespacedConfigMap({ namespace: ns, body: cm('sel-no-2', {}, { app: 'y' }) });
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: cm('sel-yes-2', {}, { app: 'x' }),
    });
    await eventually(() => {
      assert.deepEqual(events.at(-1), ['add', 'sel-yes-2']);
    });
    assert.deepEqual(names(inf), ['sel-yes', 'sel-yes-2']);
  });

  it('caches what its transform keeps, listed and watched alike', async () => {
    const core = env.kc.makeApiClient(CoreV1Api);
    const ns = env.namespace;
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: cm('slim-1', { big: 'x'.repeat(1000) }, { app: 'slim' }),
    });
    const inf = configMapInformer(env.kc, ns, captureLogger().logger, {
      labelSelector: 'app=slim',
      transform: (o) => ({
        metadata: {
          name: o.metadata?.name ?? '',
          namespace: o.metadata?.namespace ?? '',
          resourceVersion: o.metadata?.resourceVersion ?? '',
          managedFields: [],
        },
      }),
    });
    stoppers.push(() => inf.stop());
    inf.start();
    await inf.synced();
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: cm('slim-2', { big: 'y'.repeat(1000) }, { app: 'slim' }),
    });
    await eventually(() => {
      assert.deepEqual(names(inf), ['slim-1', 'slim-2']);
    });
    for (const o of inf.list()) {
      assert.equal(o.data, undefined, `${o.metadata?.name ?? ''}: data dropped`);
      assert.deepEqual(o.metadata?.managedFields, []);
    }
  });

  it('logs a throwing handler and keeps calling the others; on() returns an unsubscribe', async () => {
    const core = env.kc.makeApiClient(CoreV1Api);
    const ns = env.namespace;
    const { logger, lines } = captureLogger();
    const inf = configMapInformer(env.kc, ns, logger, { labelSelector: 'case=throw' });
    stoppers.push(() => inf.stop());
    inf.on('add', () => {
      throw new Error('boom');
    });
    const seen: string[] = [];
    const off = inf.on('add', (o) => seen.push(o.metadata?.name ?? ''));
    inf.start();
    await inf.synced();
    await core.createNamespacedConfigMap({ namespace: ns, body: cm('t1', {}, { case: 'throw' }) });
    await eventually(() => {
      assert.deepEqual(seen, ['t1']);
    });
    assert.ok(lines.some((l) => l.msg === 'informer handler threw' && l['err'] === 'boom'));
    off();
    await core.createNamespacedConfigMap({ namespace: ns, body: cm('t2', {}, { case: 'throw' }) });
    await eventually(() => {
      assert.ok(inf.get(ns, 't2'));
    });
    assert.deepEqual(seen, ['t1']);
  });

  it('retries an unreachable server with capped exponential backoff; stop() rejects synced()', async () => {
    const { logger, lines } = captureLogger();
    const proxy = await startTcpProxy(1); // then closed: its port refuses connections
    await proxy.pause();
    const kc = withServer(env.kc, `https://127.0.0.1:${proxy.port}`);
    const inf = configMapInformer(kc, env.namespace, logger);
    inf.start();
    await eventually(
      () => {
        assert.ok(lines.filter((l) => l.msg === 'watch failed; restarting').length >= 5, 'retries');
      },
      { timeoutMs: 10_000 },
    );
    await inf.stop();
    await assert.rejects(inf.synced(), (e) => isIstioLiteError(e));
    const retries = lines.filter((l) => l.msg === 'watch failed; restarting');
    const delays = retries.map((l) => Number(l['delayMs']));
    assert.deepEqual(
      retries.map((l) => l['attempt']),
      retries.map((_, i) => i + 1),
    );
    assert.ok(
      delays.every((d) => d <= 800),
      `capped at 800 ms: ${delays.join(',')}`,
    );
    assert.ok(delays[3]! > delays[0]!, `grows: ${delays.join(',')}`);
    assert.match(String(retries[0]!['err']), /ECONNREFUSED/);
  });

  it('recovers when its connection is reset and refused, and catches up on what changed', async () => {
    const core = env.kc.makeApiClient(CoreV1Api);
    const ns = env.namespace;
    const label = { case: 'drop' };
    for (const n of ['keep', 'change', 'gone']) {
      await core.createNamespacedConfigMap({ namespace: ns, body: cm(n, { v: '1' }, label) });
    }
    const proxy: TcpProxy = await startTcpProxy(env.cluster.apiServer.port);
    stoppers.push(() => proxy.close());
    const { logger, lines } = captureLogger();
    const kc = withServer(env.kc, `https://127.0.0.1:${proxy.port}`);
    const inf = configMapInformer(kc, ns, logger, { labelSelector: 'case=drop' });
    stoppers.push(() => inf.stop());
    const events = record(inf);
    inf.start();
    await inf.synced();
    assert.deepEqual(names(inf), ['change', 'gone', 'keep']);

    await proxy.pause();
    await core.createNamespacedConfigMap({ namespace: ns, body: cm('new', {}, label) });
    await core.replaceNamespacedConfigMap({
      name: 'change',
      namespace: ns,
      body: cm('change', { v: '2' }, label),
    });
    await core.deleteNamespacedConfigMap({ name: 'gone', namespace: ns });
    await eventually(() => {
      assert.ok(lines.filter((l) => l.msg === 'watch failed; restarting').length >= 2);
    });
    assert.deepEqual(names(inf), ['change', 'gone', 'keep'], 'nothing seen while cut off');

    await proxy.resume();
    await eventually(() => {
      assert.deepEqual(names(inf), ['change', 'keep', 'new']);
    });
    assert.equal(inf.get(ns, 'change')?.data?.['v'], '2');
    assert.deepEqual(events.slice(3).sort(), [
      ['add', 'new'],
      ['delete', 'gone'],
      ['update', 'change'],
    ]);
    assert.ok(lines.some((l) => l.msg === 'watch recovered'));
  });
});

describe('informer across an API server restart', function () {
  const env = useLocalCluster({ dedicated: true, namespacePrefix: 'restart' });

  it('relists after 410 Gone and reports the deletes it missed', async () => {
    const core = env.kc.makeApiClient(CoreV1Api);
    const ns = env.namespace;
    const body = (name: string) => ({ metadata: { name, namespace: ns } });
    for (const n of ['keep', 'gone'])
      await core.createNamespacedConfigMap({ namespace: ns, body: body(n) });
    const proxy = await startTcpProxy(env.cluster.apiServer.port);
    const { logger, lines } = captureLogger();
    const inf = configMapInformer(
      withServer(env.kc, `https://127.0.0.1:${proxy.port}`),
      ns,
      logger,
    );
    const events = record(inf);
    try {
      inf.start();
      await inf.synced();
      assert.deepEqual(names(inf), ['gone', 'keep']);

      await proxy.pause();
      await core.deleteNamespacedConfigMap({ name: 'gone', namespace: ns });
      await core.createNamespacedConfigMap({ namespace: ns, body: body('new') });
      // A new API server has an empty watch cache: the informer's resourceVersion is too old.
      await restartApiServer(env.stateDir);
      await proxy.resume();

      await eventually(
        () => {
          assert.deepEqual(names(inf), ['keep', 'new']);
        },
        { timeoutMs: 20_000 },
      );
      assert.ok(events.some(([t, n]) => t === 'delete' && n === 'gone'));
      assert.ok(lines.some((l) => l.msg === 'resource version expired; relisting'));

      await core.createNamespacedConfigMap({ namespace: ns, body: body('after') });
      await eventually(() => {
        assert.deepEqual(events.at(-1), ['add', 'after']);
      });
    } finally {
      await inf.stop();
      await proxy.close();
    }
  });
});
