import assert from 'node:assert/strict';
import { Client, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { compress, compressReport } from '../lib/mixer/compress.ts';
import { globalWordCount } from '../lib/mixer/global-dictionary.ts';
import { mixerService } from '../lib/mixer/protos.ts';
import { decodeReferenced } from '../lib/mixer/referenced.ts';
import { Duration, IpAddress, type Value } from '../lib/mixer/value.ts';
import type { CheckResponseMessage } from '../lib/mixer/wire.ts';
import { Code } from './adapter.ts';
import { reviewsToRatings } from './testing/attribute-bags.ts';
import { exampleObjects } from './testing/harness.ts';
import { startTestMixer, type TestMixer } from './testing/server.ts';

const attrs = reviewsToRatings;

async function check(
  m: TestMixer,
  a: Map<string, Value>,
  quotas?: object,
  dedup = '',
): Promise<CheckResponseMessage> {
  const req = {
    attributes: compress(a),
    global_word_count: globalWordCount,
    deduplication_id: dedup,
    quotas: quotas ?? {},
  };
  return (await m.mixer('Check', req)) as CheckResponseMessage;
}

/** An ext_authz v3 CheckRequest as Envoy's HTTP filter sends it, with istio-lite's context extensions. */
function authzRequest(version: string, http = true): object {
  return {
    attributes: {
      source: {
        address: { socket_address: { address: '10.1.0.5', port_value: 45678 } },
        principal: 'spiffe://cluster.local/ns/default/sa/bookinfo-reviews',
      },
      destination: { address: { socket_address: { address: '10.1.0.9', port_value: 9080 } } },
      request: {
        time: { seconds: 1_700_000_000, nanos: 0 },
        ...(http
          ? {
              http: {
                id: '42',
                method: 'GET',
                headers: {
                  ':authority': 'ratings:9080',
                  ':path': '/ratings/0',
                  ':method': 'GET',
                  'user-agent': 'curl/8',
                  'x-request-id': 'r-1',
                },
                path: '/ratings/0',
                host: 'ratings:9080',
                scheme: 'http',
                protocol: 'HTTP/1.1',
                size: 0,
              },
            }
          : {}),
      },
      context_extensions: {
        'destination.service': 'ratings.default.svc.cluster.local',
        'destination.labels.app': 'ratings',
        'source.labels.app': 'reviews',
        'source.labels.version': version,
      },
    },
  };
}

function alsEntry(code: number): object {
  return {
    common_properties: {
      downstream_remote_address: { socket_address: { address: '10.1.0.5', port_value: 45678 } },
      downstream_local_address: { socket_address: { address: '10.1.0.9', port_value: 9080 } },
      start_time: { seconds: 1_700_000_000, nanos: 0 },
      time_to_last_downstream_tx_byte: { seconds: 0, nanos: 12_000_000 },
      upstream_cluster: 'inbound|9080||',
      custom_tags: {
        'destination.service': 'ratings.default.svc.cluster.local',
        'destination.labels.version': 'v1',
        'source.service': 'reviews.default.svc.cluster.local',
        'source.labels.version': 'v2',
      },
    },
    protocol_version: 'HTTP11',
    request: {
      request_method: 'GET',
      scheme: 'http',
      authority: 'ratings:9080',
      path: '/ratings/0',
      request_id: 'r-1',
      request_headers_bytes: 120,
      request_body_bytes: 0,
    },
    response: {
      response_code: { value: code },
      response_headers_bytes: 80,
      response_body_bytes: 300,
    },
  };
}

describe('mixer gRPC server (real clients, mixer/examples config)', function () {
  this.timeout(20_000);
  let m: TestMixer;
  /** The deny example without the whitelist (which would answer first for v3: rules run by name). */
  let denyOnly: TestMixer;
  before(async () => {
    m = await startTestMixer();
    denyOnly = await startTestMixer({ objects: exampleObjects(['deny.yaml', 'telemetry.yaml']) });
  });
  after(async () => {
    await m.close();
    await denyOnly.close();
  });

  describe('Mixer v1 Check', () => {
    it('the deny rule gives PERMISSION_DENIED with its message, cacheable on what it read', async () => {
      const res = await check(denyOnly, attrs('v3'));
      assert.deepEqual(res.precondition.status, {
        code: Code.PERMISSION_DENIED,
        message: 'Not allowed',
        details: [],
      });
      assert.deepEqual(res.precondition.valid_duration, { seconds: 10, nanos: 0 });
      assert.equal(res.precondition.valid_use_count, 200);
      assert.deepEqual(decodeReferenced(res.precondition.referenced_attributes), [
        { name: 'destination.namespace', condition: 'ABSENCE' },
        { name: 'destination.service', condition: 'EXACT' },
        { name: 'destination.labels', mapKey: 'app', condition: 'EXACT' },
        { name: 'source.labels', mapKey: 'app', condition: 'EXACT' },
        { name: 'source.labels', mapKey: 'version', condition: 'EXACT' },
      ]);
    });

    it("counts every Check and handler call in Mixer's own metrics, timed in histograms", async () => {
      const read = (text: string, series: string): number => {
        const line = text.split('\n').find((l) => l.startsWith(`${series} `));
        return line === undefined ? 0 : Number(line.slice(series.length + 1));
      };
      const names = [
        'mixer_check_total{api="mixer",code="PERMISSION_DENIED"}',
        'mixer_check_total{api="mixer",code="OK"}',
        'mixer_check_duration_seconds_count{api="mixer"}',
        'mixer_adapter_dispatch_total{adapter="denier",handler="denyreviewsv3handler.denier.default",result="ok"}',
        'mixer_adapter_dispatch_duration_seconds_count{adapter="denier"}',
        'mixer_adapter_dispatch_duration_seconds_bucket{le="+Inf",adapter="denier"}',
      ];
      const before = await denyOnly.scrape();
      await check(denyOnly, attrs('v3'));
      await check(denyOnly, attrs('v3'));
      await check(denyOnly, attrs('v1'));
      const after = await denyOnly.scrape();
      assert.deepEqual(
        names.map((n) => read(after, n) - read(before, n)),
        [2, 1, 3, 2, 2, 2],
      );
      assert.match(after, /^# TYPE mixer_check_duration_seconds histogram$/m);
    });

    it('the whitelist admits v1 and v2 only', async () => {
      const codes: Record<string, number> = {};
      for (const v of ['v1', 'v2', 'v4'])
        codes[v] = (await check(m, attrs(v))).precondition.status.code;
      assert.deepEqual(codes, { v1: Code.OK, v2: Code.OK, v4: Code.NOT_FOUND });
      const miss = await check(m, attrs('v4'));
      assert.equal(miss.precondition.status.message, 'v4 is not whitelisted');
    });

    it('memquota refuses with RESOURCE_EXHAUSTED after its limit (5 per 10 s to ratings)', async () => {
      const got: [number, number | undefined][] = [];
      for (let i = 0; i < 7; i++) {
        const res = await check(
          m,
          attrs('v2'),
          { requestcount: { amount: 1, best_effort: false } },
          `d-${String(i)}`,
        );
        got.push([res.precondition.status.code, res.quotas['requestcount']?.granted_amount]);
      }
      assert.deepEqual(got, [
        [0, 1],
        [0, 1],
        [0, 1],
        [0, 1],
        [0, 1],
        [8, 0],
        [8, 0],
      ]);
      // A retry of an admitted call (same deduplication id) is not charged again.
      const retry = await check(
        m,
        attrs('v2'),
        { requestcount: { amount: 1, best_effort: false } },
        'd-0',
      );
      assert.equal(retry.quotas['requestcount']?.granted_amount, 1);
    });

    it('a client with another global dictionary gets a clear INVALID_ARGUMENT', async () => {
      await assert.rejects(
        m.mixer('Check', {
          attributes: compress(attrs('v1')),
          global_word_count: globalWordCount + 5,
        }),
        (e: ServiceError) => {
          assert.equal(e.code, status.INVALID_ARGUMENT);
          assert.match(
            e.details,
            /global_word_count is \d+ but this Mixer's global dictionary \(istio-lite\/2\) has \d+ words/,
          );
          return true;
        },
      );
    });
  });

  describe('Mixer v1 Report', () => {
    it('a batched report shows request_count in a Prometheus scrape, and stdio prints the log entry', async () => {
      const sets = [200, 200, 503].map((code, i) =>
        attrs('v2', [
          ['response.code', code],
          ['request.id', `id-${String(i)}`],
          ['source.ip', IpAddress.parse('10.1.0.5') as IpAddress],
          ['response.duration', new Duration(7)],
          ['request.method', 'GET'],
        ]),
      );
      const before = m.stdout.lines().length;
      for (const req of compressReport(sets)) assert.deepEqual(await m.mixer('Report', req), {});
      const text = await m.scrape();
      assert.match(
        text,
        /request_count\{source_service="reviews.default.svc.cluster.local",source_version="v2",destination_service="ratings.default.svc.cluster.local",destination_version="v1",response_code="200"\} 2\n/,
      );
      assert.match(text, /request_count\{[^}]*response_code="503"\} 1\n/);
      assert.match(
        text,
        /request_duration_bucket\{le="0.01",destination_service="ratings.default.svc.cluster.local",destination_version="v1",response_code="200"\} 2\n/,
      );
      const lines = m.stdout
        .lines()
        .slice(before)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.equal(lines.length, 3);
      assert.deepEqual(
        {
          instance: lines[2]?.['instance'],
          method: lines[2]?.['method'],
          url: lines[2]?.['url'],
          responseCode: lines[2]?.['responseCode'],
          latency: lines[2]?.['latency'],
          sourceIp: lines[2]?.['sourceIp'],
        },
        {
          instance: 'accesslog.logentry.istio-system',
          method: 'GET',
          url: '/ratings/0',
          responseCode: 503,
          latency: '7ms',
          sourceIp: '10.1.0.5',
        },
      );
    });

    it('malformed Report bytes get INVALID_ARGUMENT naming the problem, and nothing is reported', async () => {
      const good = mixerService()['Report']?.requestSerialize(compressReport([attrs('v1')])[0]);
      assert.ok(good);
      const before = m.stdout.lines().length;
      const client = new Client(m.address, credentials.createInsecure());
      const send = (bytes: Buffer) =>
        new Promise<void>((resolve, reject) => {
          client.makeUnaryRequest(
            '/istio.mixer.v1.Mixer/Report',
            (b: Buffer) => b,
            (b: Buffer) => b,
            bytes,
            (err: ServiceError | null) => {
              if (err) reject(err);
              else resolve();
            },
          );
        });
      try {
        await assert.rejects(send(good.subarray(0, good.length - 3)), (e: ServiceError) => {
          assert.equal(e.code, status.INVALID_ARGUMENT);
          assert.match(e.details, /^default_words: length \d+ runs past the end of its message/);
          return true;
        });
      } finally {
        client.close();
      }
      assert.equal(m.stdout.lines().length, before);
    });
  });

  describe('Envoy ext_authz, ALS and RLS give the same decisions and metrics', () => {
    it('ext_authz (HTTP filter): reviews v3 is denied with 403 and the denier message', async () => {
      const res = (await denyOnly.authz('Check', authzRequest('v3'))) as {
        status: { code: number; message: string };
        denied_response?: { status: { code: string }; body: string };
      };
      assert.equal(res.status.code, Code.PERMISSION_DENIED);
      assert.equal(res.denied_response?.status.code, 'Forbidden');
      assert.equal(res.denied_response.body, 'PERMISSION_DENIED:Not allowed');
    });

    it('ext_authz (HTTP filter): reviews v2 is allowed, v4 is not whitelisted', async () => {
      const ok = (await m.authz('Check', authzRequest('v2'))) as {
        status: { code: number };
        ok_response?: object;
      };
      assert.equal(ok.status.code, Code.OK);
      assert.ok(ok.ok_response);
      const miss = (await m.authz('Check', authzRequest('v4'))) as {
        denied_response?: { body: string };
      };
      assert.equal(miss.denied_response?.body, 'NOT_FOUND:v4 is not whitelisted');
    });

    it('ext_authz (network filter): a status and no HTTP response', async () => {
      const res = (await denyOnly.authz('Check', authzRequest('v3', false))) as {
        status: { code: number };
        denied_response?: object;
      };
      assert.equal(res.status.code, Code.PERMISSION_DENIED);
      assert.equal(res.denied_response, undefined);
    });

    it('ALS: streamed HTTP log entries count in request_count like Mixer v1 reports', async () => {
      const count = async () => {
        const mm =
          /request_count\{source_service="reviews.default.svc.cluster.local",source_version="v2",destination_service="ratings.default.svc.cluster.local",destination_version="v1",response_code="404"\} (\d+)/.exec(
            await m.scrape(),
          );
        return Number(mm?.[1] ?? 0);
      };
      const before = await count();
      await m.accessLogs([
        {
          identifier: {
            node: { id: 'sidecar~10.1.0.9~ratings-v1.default~default.svc.cluster.local' },
            log_name: 'als',
          },
          http_logs: { log_entry: [alsEntry(404), alsEntry(404)] },
        },
        { http_logs: { log_entry: [alsEntry(404)] } },
      ]);
      assert.equal((await count()) - before, 3);
    });

    it('RLS: a descriptor naming the quota is OK five times, then OVER_LIMIT', async () => {
      const req = {
        domain: 'mesh',
        descriptors: [
          {
            entries: [
              { key: 'quota', value: 'requestcount' },
              { key: 'destination.labels.app', value: 'ratings' },
              { key: 'source.labels.app', value: 'reviews' },
              { key: 'source.labels.version', value: 'v1' },
            ],
          },
        ],
        hits_addend: 1,
      };
      const codes: string[] = [];
      for (let i = 0; i < 6; i++)
        codes.push(
          ((await m.rls('ShouldRateLimit', req)) as { overall_code: string }).overall_code,
        );
      assert.deepEqual(codes, ['OK', 'OK', 'OK', 'OK', 'OK', 'OVER_LIMIT']);
    });
  });
});
