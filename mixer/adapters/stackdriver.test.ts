/**
 * The stackdriver adapter through Google's real Node clients against a local gRPC server that
 * implements CreateTimeSeries and WriteLogEntries from Google's published protos
 * (mixer/testing/google-cloud-emulator.ts; no Google endpoint is reachable here). Mixer runs the
 * adapter from a config written as Istio 0.2 wrote it (snake_case, enums as numbers), takes real
 * Mixer v1 Reports, and pushes on its interval and on flush.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials } from '@grpc/grpc-js';
import { unaryClient } from '../../lib/grpc/services.ts';
import { compressReport } from '../../lib/mixer/compress.ts';
import { mixerService } from '../../lib/mixer/protos.ts';
import { Duration, IpAddress, type Value } from '../../lib/mixer/value.ts';
import { configObjectsFromYaml } from '../config/yaml-objects.ts';
import { runMixer, type RunningMixer } from '../run.ts';
import {
  startGoogleCloudEmulator,
  type GoogleCloudEmulator,
} from '../testing/google-cloud-emulator.ts';
import { harness } from '../testing/harness.ts';
import { eventually } from '../../lib/testing/eventually.ts';

function config(endpoint: string, pushInterval: string): string {
  return `
apiVersion: config.istio.io/v1alpha2
kind: stackdriver
metadata: { name: handler, namespace: istio-system }
spec:
  endpoint: ${endpoint}
  project_id: istio-lite-test
  push_interval: ${pushInterval}
  metric_info:
    requestcount.metric.istio-system: { kind: 2, value: 2 }   # DELTA INT64
    requestduration.metric.istio-system:
      kind: DELTA
      value: DISTRIBUTION
      buckets: { explicit_buckets: { bounds: [0.005, 0.01, 0.1, 1] } }
    bytes.metric.istio-system: { kind: CUMULATIVE, value: INT64 }
  log_info:
    accesslog.logentry.istio-system:
      payload_template: '{{or (.sourceIp) "-"}} - {{or (.sourceUser) "-"}} [{{.timestamp.Format "02/Jan/2006:15:04:05 -0700"}}] "{{.method}} {{.url}}" {{.responseCode}}'
      http_mapping: { status: responseCode, method: method, url: url, latency: latency, remote_ip: sourceIp }
      label_names: [destination, responseCode]
---
apiVersion: config.istio.io/v1alpha2
kind: metric
metadata: { name: requestcount, namespace: istio-system }
spec:
  value: "1"
  dimensions:
    destination: destination.service | "unknown"
    response_code: response.code | 200
---
apiVersion: config.istio.io/v1alpha2
kind: metric
metadata: { name: requestduration, namespace: istio-system }
spec:
  value: response.duration | "0ms"
  dimensions: { destination: destination.service | "unknown" }
---
apiVersion: config.istio.io/v1alpha2
kind: metric
metadata: { name: bytes, namespace: istio-system }
spec:
  value: response.size | 0
  dimensions: { destination: destination.service | "unknown" }
---
apiVersion: config.istio.io/v1alpha2
kind: logentry
metadata: { name: accesslog, namespace: istio-system }
spec:
  severity: '"Info"'
  timestamp: request.time
  variables:
    sourceIp: source.ip | ip("0.0.0.0")
    sourceUser: source.user | ""
    destination: destination.service | "unknown"
    method: request.method | ""
    url: request.path | ""
    responseCode: response.code | 0
    latency: response.duration | "0ms"
    timestamp: request.time
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: { name: stackdriver, namespace: istio-system }
spec:
  actions:
    - handler: handler.stackdriver
      instances: [requestcount.metric, requestduration.metric, bytes.metric, accesslog.logentry]
`;
}

function request(code: number, ms: number, size: number): Map<string, Value> {
  return new Map<string, Value>([
    ['source.ip', IpAddress.parse('10.1.2.3') as IpAddress],
    ['destination.service', 'ratings.default.svc.cluster.local'],
    ['request.method', 'GET'],
    ['request.path', '/ratings/0'],
    ['request.time', new Date('2017-10-04T12:00:00.250Z')],
    ['response.code', code],
    ['response.duration', new Duration(ms)],
    ['response.size', size],
  ]);
}

type Series = Record<string, unknown> & {
  metric: { type: string; labels: Record<string, string> };
  points: { interval: Record<string, { seconds: number }>; value: Record<string, unknown> }[];
};

function byType(requests: GoogleCloudEmulator['timeSeries']): Map<string, Series[]> {
  const out = new Map<string, Series[]>();
  for (const r of requests) {
    for (const s of r.request.timeSeries as Series[]) {
      out.set(s.metric.type, [...(out.get(s.metric.type) ?? []), s]);
    }
  }
  return out;
}

describe('stackdriver adapter (Google clients against a local CreateTimeSeries/WriteLogEntries server)', function () {
  this.timeout(30_000);
  let emulator: GoogleCloudEmulator;
  const dir = mkdtempSync(join(tmpdir(), 'istio-lite-stackdriver-'));
  before(async () => {
    emulator = await startGoogleCloudEmulator();
  });
  after(async () => {
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    emulator.timeSeries.length = 0;
    emulator.logEntries.length = 0;
  });

  async function startMixer(pushInterval: string): Promise<RunningMixer> {
    const file = join(dir, `config-${pushInterval}.yaml`);
    writeFileSync(file, config(`http://127.0.0.1:${String(emulator.port)}`, pushInterval));
    const mixer = await runMixer({
      logger: harness().logger,
      port: 0,
      host: '127.0.0.1',
      monitoringPort: 0,
      configDefaultNamespace: 'istio-system',
      configFiles: [file],
      failPolicy: 'closed',
      adapterModules: [],
      instance: 'test',
    });
    await mixer.ready();
    assert.deepEqual(mixer.core.controller.snapshot().problems, []);
    return mixer;
  }

  async function report(mixer: RunningMixer, sets: Map<string, Value>[]): Promise<void> {
    const client = unaryClient(
      mixerService(),
      `127.0.0.1:${String(mixer.grpcPort)}`,
      credentials.createInsecure(),
    );
    try {
      for (const req of compressReport(sets)) await client.call('Report', req);
    } finally {
      client.close();
    }
  }

  it('on flush: one CreateTimeSeries with merged series, one WriteLogEntries with mapped entries', async () => {
    const mixer = await startMixer('1h');
    await report(mixer, [request(200, 4, 100), request(200, 50, 300), request(503, 2000, 0)]);
    await mixer.close(); // SIGTERM: handlers flush
    assert.equal(emulator.timeSeries.length, 1);
    const sent = emulator.timeSeries[0];
    assert.equal(sent?.request.name, 'projects/istio-lite-test');
    assert.equal(sent.metadata.get('authorization').length, 0, 'plaintext: no credentials');
    const series = byType(emulator.timeSeries);

    const counts = series.get('custom.googleapis.com/requestcount.metric.istio-system') ?? [];
    assert.deepEqual(
      counts.map((s) => [s.metric.labels['response_code'], s.points[0]?.value['int64Value']]),
      [
        ['200', 2],
        ['503', 1],
      ],
    );
    const first = counts[0];
    assert.equal(first?.metricKind, 'DELTA');
    assert.equal(first.valueType, 'INT64');
    assert.deepEqual(first.resource, { type: 'global', labels: { project_id: 'istio-lite-test' } });
    const interval = first.points[0]?.interval;
    assert.ok((interval?.['startTime']?.seconds ?? 0) <= (interval?.['endTime']?.seconds ?? 0));

    const [duration] =
      series.get('custom.googleapis.com/requestduration.metric.istio-system') ?? [];
    const dist = duration?.points[0]?.value['distributionValue'] as Record<string, unknown>;
    assert.equal(dist['count'], 3);
    // 0.004 s, 0.05 s, 2 s over bounds [0.005, 0.01, 0.1, 1]: underflow, third, overflow.
    assert.deepEqual(dist['bucketCounts'], [1, 0, 1, 0, 1]);
    assert.deepEqual((dist['bucketOptions'] as Record<string, unknown>)['explicitBuckets'], {
      bounds: [0.005, 0.01, 0.1, 1],
    });
    assert.ok(Math.abs(Number(dist['mean']) - 2.054 / 3) < 1e-9);

    const [bytes] = series.get('custom.googleapis.com/bytes.metric.istio-system') ?? [];
    assert.equal(bytes?.metricKind, 'CUMULATIVE');
    assert.equal(bytes.points[0]?.value['int64Value'], 400);

    assert.equal(emulator.logEntries.length, 1);
    const entries = emulator.logEntries[0]?.request.entries ?? [];
    assert.equal(entries.length, 3);
    const e = entries[0] as Record<string, unknown>;
    assert.equal(e['logName'], 'projects/istio-lite-test/logs/accesslog.logentry.istio-system');
    assert.equal(
      e['textPayload'],
      '10.1.2.3 - - [04/Oct/2017:12:00:00 +0000] "GET /ratings/0" 200',
    );
    assert.equal(e['severity'], 'INFO');
    assert.deepEqual(e['timestamp'], { seconds: 1507118400, nanos: 250_000_000 });
    assert.deepEqual(e['labels'], {
      destination: 'ratings.default.svc.cluster.local',
      responseCode: '200',
    });
    assert.deepEqual(e['httpRequest'], {
      requestMethod: 'GET',
      requestUrl: '/ratings/0',
      status: 200,
      remoteIp: '10.1.2.3',
      latency: { seconds: 0, nanos: 4_000_000 },
    });
    assert.equal(
      (entries[2] as Record<string, unknown>)['textPayload'],
      '10.1.2.3 - - [04/Oct/2017:12:00:00 +0000] "GET /ratings/0" 503',
    );
  });

  it('on its push interval: DELTA windows do not overlap, CUMULATIVE keeps its start and total', async () => {
    const mixer = await startMixer('300ms');
    try {
      await report(mixer, [request(200, 1, 10)]);
      await eventually(
        () => {
          assert.equal(emulator.timeSeries.length, 1);
        },
        { timeoutMs: 5000, intervalMs: 50 },
      );
      await report(mixer, [request(200, 1, 5), request(200, 1, 5)]);
      await eventually(
        () => {
          assert.equal(emulator.timeSeries.length, 2);
        },
        { timeoutMs: 5000, intervalMs: 50 },
      );
    } finally {
      await mixer.close();
    }
    const counts =
      byType(emulator.timeSeries).get('custom.googleapis.com/requestcount.metric.istio-system') ??
      [];
    assert.deepEqual(
      counts.map((s) => s.points[0]?.value['int64Value']),
      [1, 2],
    );
    const iv = counts.map((s) => s.points[0]?.interval ?? {});
    assert.deepEqual(
      iv[1]?.['startTime'],
      iv[0]?.['endTime'],
      'the second window starts where the first ended',
    );
    const bytes =
      byType(emulator.timeSeries).get('custom.googleapis.com/bytes.metric.istio-system') ?? [];
    assert.deepEqual(
      bytes.map((s) => s.points[0]?.value['int64Value']),
      [10, 20],
    );
    assert.deepEqual(
      bytes[1]?.points[0]?.interval['startTime'],
      bytes[0]?.points[0]?.interval['startTime'],
    );
  });

  it('refuses bad specs and instances it has no info for, naming the field', async () => {
    const h = harness();
    const handler = (spec: string) => `
apiVersion: config.istio.io/v1alpha2
kind: stackdriver
metadata: { name: bad, namespace: istio-system }
spec: ${spec}
`;
    const cases: [string, RegExp][] = [
      ['{ pushInterval: 1m }', /spec\.projectId.*required/],
      [
        '{ projectId: p, apiKey: k, serviceAccountPath: /x.json }',
        /spec\.serviceAccountPath.*only one of/,
      ],
      [
        '{ projectId: p, metricInfo: { m: { kind: DELTA, value: DISTRIBUTION } } }',
        /spec\.metricInfo\.m\.buckets.*required for a DISTRIBUTION/,
      ],
      [
        '{ projectId: p, metricInfo: { m: { kind: DELTA, value: STRING } } }',
        /spec\.metricInfo\.m\.kind.*must be a GAUGE/,
      ],
      [
        '{ projectId: p, metricInfo: { m: { value: INT64 } } }',
        /spec\.metricInfo\.m\.kind.*is required/,
      ],
      [
        '{ projectId: p, logInfo: { l: { payloadTemplate: "{{range .x}}" } } }',
        /spec\.logInfo\.l\.payloadTemplate.*"range" is not supported/,
      ],
      ['{ projectId: p, endpoint: "ftp://x" }', /spec\.endpoint/],
      ['{ projectId: p, pushIntervl: 1m }', /spec\.pushIntervl.*unknown field/],
    ];
    for (const [spec, want] of cases) {
      await h.controller.replaceAll(configObjectsFromYaml(handler(spec), 'x.yaml', 'istio-system'));
      const problems = h.controller.snapshot().problems.map((p) => p.message);
      assert.equal(problems.length, 1, spec);
      assert.match(problems[0] ?? '', want, spec);
    }
    // A metric this handler has no metricInfo for, and a logentry missing a label it names.
    const objects = configObjectsFromYaml(
      config('http://127.0.0.1:1', '1m'),
      'x.yaml',
      'istio-system',
    );
    const extra = configObjectsFromYaml(
      `
apiVersion: config.istio.io/v1alpha2
kind: metric
metadata: { name: other, namespace: istio-system }
spec: { value: "1" }
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: { name: other, namespace: istio-system }
spec:
  actions: [{ handler: handler.stackdriver, instances: [other.metric] }]
`,
      'y.yaml',
      'istio-system',
    );
    await h.controller.replaceAll([...objects, ...extra]);
    const problems = h.controller.snapshot().problems.map((p) => p.message);
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /no metricInfo for other\.metric\.istio-system/);
    await h.controller.close();
  });
});
