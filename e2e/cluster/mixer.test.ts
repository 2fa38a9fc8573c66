/**
 * Mixer against a real API server: its CRDs (from the chart) are served and refuse a malformed
 * object naming the field; the mixer/examples config applies as written; Mixer picks config up through
 * informers, answers checks with it, follows changes, and reports a rule that does not type-check
 * (an Event on the rule and a log line naming it) while the rest keeps working.
 */
import assert from 'node:assert/strict';
import { credentials } from '@grpc/grpc-js';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { applyObjects } from '../../lib/kube/apply.ts';
import { apiErrorCode, isAlreadyExists } from '../../lib/kube/client.ts';
import { createLogger } from '../../lib/log.ts';
import { unaryClient, type UnaryCaller } from '../../lib/grpc/services.ts';
import { compress } from '../../lib/mixer/compress.ts';
import { globalWordCount } from '../../lib/mixer/global-dictionary.ts';
import { mixerService } from '../../lib/mixer/protos.ts';
import type { Value } from '../../lib/mixer/value.ts';
import type { CheckResponseMessage } from '../../lib/mixer/wire.ts';
import type { RunningMixer } from '../../mixer/run.ts';
import { eventually } from './eventually.ts';
import { useLocalCluster } from './local-cluster.ts';
import { installMixerCrds, startKubeMixer, yamlObjects } from './mixer-support.ts';

function attrs(version: string): Map<string, Value> {
  return new Map<string, Value>([
    [
      'source.labels',
      new Map([
        ['app', 'reviews'],
        ['version', version],
      ]),
    ],
    ['destination.labels', new Map([['app', 'ratings']])],
    ['destination.service', 'ratings.default.svc.cluster.local'],
  ]);
}

describe('mixer on a real API server', function () {
  this.timeout(120_000);
  const env = useLocalCluster({ dedicated: true, namespacePrefix: 'mixer' });
  const logLines: Record<string, unknown>[] = [];
  let running: RunningMixer | undefined;
  let client: { call: UnaryCaller; close: () => void } | undefined;

  async function code(version: string): Promise<number> {
    const res = (await client!.call('Check', {
      attributes: compress(attrs(version)),
      global_word_count: globalWordCount,
    })) as CheckResponseMessage;
    return res.precondition.status.code;
  }

  before(async () => {
    await installMixerCrds(env.kc, 'mixer-e2e');
    const core = env.kc.makeApiClient(CoreV1Api);
    try {
      await core.createNamespace({ body: { metadata: { name: 'istio-system' } } });
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
  });

  after(async () => {
    client?.close();
    await running?.close();
  });

  it('refuses a malformed object, naming the field', async () => {
    const api = env.kc.makeApiClient(CustomObjectsApi);
    await assert.rejects(
      api.createNamespacedCustomObject({
        group: 'config.istio.io',
        version: 'v1alpha2',
        namespace: env.namespace,
        plural: 'memquotas',
        fieldValidation: 'Strict',
        body: {
          apiVersion: 'config.istio.io/v1alpha2',
          kind: 'memquota',
          metadata: { name: 'bad' },
          spec: { quotas: [{ name: 'q.quota.x', maxAmount: 'lots', validDuration: '1s' }] },
        },
      }),
      (e: unknown) => {
        assert.equal(apiErrorCode(e), 422);
        assert.match(String((e as { body?: unknown }).body), /spec\.quotas\[0\]\.maxAmount/);
        return true;
      },
    );
    await assert.rejects(
      api.createNamespacedCustomObject({
        group: 'config.istio.io',
        version: 'v1alpha2',
        namespace: env.namespace,
        plural: 'deniers',
        fieldValidation: 'Strict',
        body: {
          apiVersion: 'config.istio.io/v1alpha2',
          kind: 'denier',
          metadata: { name: 'bad' },
          spec: { status: { code: 7 }, validDuraton: '1s' },
        },
      }),
      (e: unknown) => {
        // Strict field validation refuses unknown fields with 400 BadRequest.
        assert.equal(apiErrorCode(e), 400);
        assert.match(
          String((e as { body?: unknown }).body),
          /unknown field \\"spec\.validDuraton\\"/,
        );
        return true;
      },
    );
  });

  it('takes a stackdriver handler as Istio 0.2 wrote it (enums as numbers) and refuses a bad kind', async () => {
    const api = env.kc.makeApiClient(CustomObjectsApi);
    const create = (name: string, kind: unknown) =>
      api.createNamespacedCustomObject({
        group: 'config.istio.io',
        version: 'v1alpha2',
        namespace: env.namespace,
        plural: 'stackdrivers',
        fieldValidation: 'Strict',
        body: {
          apiVersion: 'config.istio.io/v1alpha2',
          kind: 'stackdriver',
          metadata: { name },
          spec: {
            project_id: 'my-project',
            metricInfo: {
              'requestcount.metric.istio-system': { kind, value: 2 },
              'requestduration.metric.istio-system': {
                kind: 'DELTA',
                value: 'DISTRIBUTION',
                buckets: { explicit_buckets: { bounds: [0.005, 0.01] } },
              },
            },
          },
        },
      });
    await create('numbers', 2);
    await create('names', 'CUMULATIVE');
    await assert.rejects(create('bad', 9), (e: unknown) => {
      assert.equal(apiErrorCode(e), 422);
      assert.match(
        String((e as { body?: unknown }).body),
        /spec\.metricInfo\.requestcount\.metric\.istio-system\.kind: Unsupported value: 9/,
      );
      return true;
    });
  });

  it('applies the mixer/examples config as written and Mixer answers with it', async () => {
    const examples = ['deny', 'whitelist', 'ratelimit', 'telemetry'].flatMap((f) =>
      yamlObjects(new URL(`../../mixer/examples/${f}.yaml`, import.meta.url)),
    );
    await applyObjects(env.kc, examples, 'mixer-e2e');
    const logger = createLogger('mixer', {
      level: 'info',
      destination: {
        write(s: string) {
          logLines.push(JSON.parse(s) as Record<string, unknown>);
        },
      },
    });
    running = await startKubeMixer({ kc: env.kc, logger, instance: 'mixer-e2e' });
    const ready = await fetch(`http://127.0.0.1:${String(running.monitoringPort)}/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(running.core.controller.snapshot().problems, []);
    client = unaryClient(
      mixerService(),
      `127.0.0.1:${String(running.grpcPort)}`,
      credentials.createInsecure(),
    );
    // Rules run in name order: the whitelist (checkversion) answers v3 before the denier.
    assert.equal(await code('v3'), 5);
    assert.equal(await code('v1'), 0);
    assert.equal(await code('v4'), 5);
  });

  it('reports a rule that does not type-check (Event and log line) and keeps the rest working', async () => {
    const rule = {
      apiVersion: 'config.istio.io/v1alpha2',
      kind: 'rule',
      metadata: { name: 'typo-rule', namespace: 'istio-system' },
      spec: {
        match: 'source.labels["app"] == 42',
        actions: [{ handler: 'handler.memquota', instances: ['requestcount.quota'] }],
      },
    };
    await applyObjects(env.kc, [rule], 'mixer-e2e');
    const core = env.kc.makeApiClient(CoreV1Api);
    const event = await eventually(
      async () => {
        const list = await core.listNamespacedEvent({
          namespace: 'istio-system',
          fieldSelector: 'involvedObject.name=typo-rule',
        });
        const e = list.items.find((x) => x.reason === 'ConfigRejected');
        assert.ok(e, 'no ConfigRejected event yet');
        return e;
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    assert.equal(event.type, 'Warning');
    assert.equal(event.involvedObject.kind, 'rule');
    assert.match(
      event.message ?? '',
      /spec\.match: .*"==" needs one type on both sides, got STRING and INT64/,
    );
    const line = logLines.find((l) => l['object'] === 'typo-rule.rule.istio-system');
    assert.ok(line, 'a log line names the rule');
    assert.equal(line['level'], 50);
    assert.equal(await code('v3'), 5);
    assert.equal(await code('v1'), 0);
  });

  it('follows changes through the informers: without the whitelist rule the denier answers', async () => {
    const api = env.kc.makeApiClient(CustomObjectsApi);
    await api.deleteNamespacedCustomObject({
      group: 'config.istio.io',
      version: 'v1alpha2',
      namespace: 'default',
      plural: 'rules',
      name: 'checkversion',
    });
    await eventually(async () => {
      assert.equal(await code('v4'), 0);
    });
    const res = (await client!.call('Check', {
      attributes: compress(attrs('v3')),
      global_word_count: globalWordCount,
    })) as CheckResponseMessage;
    assert.deepEqual(res.precondition.status, { code: 7, message: 'Not allowed', details: [] });
  });
});
