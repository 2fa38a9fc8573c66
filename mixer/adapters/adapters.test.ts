import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Duration, IpAddress, type Value } from '../../lib/mixer/value.ts';
import {
  specReader,
  type Adapter,
  type Handler,
  type MetricInstance,
  type QuotaInstance,
} from '../adapter.ts';
import { harness } from '../testing/harness.ts';
import { listchecker } from './listchecker.ts';
import { memquota } from './memquota.ts';
import { statsd } from './statsd.ts';

function make(adapter: Adapter, spec: unknown, now: () => number = Date.now): Handler {
  return adapter.create(specReader(spec), { ...harness().envFor(`h.${adapter.name}.ns`), now });
}

function metric(name: string, value: Value, dims: [string, Value][]): MetricInstance {
  return { template: 'metric', name, value, dimensions: new Map(dims), monitoredResourceType: '' };
}

describe('mixer adapters', () => {
  describe('statsd over real UDP', () => {
    let sock: Socket;
    let port: number;
    const packets: string[] = [];
    before(async () => {
      sock = createSocket('udp4');
      sock.on('message', (m) => packets.push(m.toString()));
      sock.bind(0, '127.0.0.1');
      await once(sock, 'listening');
      port = sock.address().port;
    });
    after(() => {
      sock.close();
    });

    it('sends counters and timings named from the template, packed into packets', async () => {
      const h = make(statsd, {
        address: `127.0.0.1:${String(port)}`,
        prefix: 'istio.',
        flushDuration: '20ms',
        metrics: {
          'requestcount.metric.istio-system': {
            type: 'COUNTER',
            nameTemplate: 'requests.{{.destination_service}}.{{.response_code}}',
          },
          'requestduration.metric.istio-system': { type: 'DISTRIBUTION' },
        },
      });
      await h.report?.([
        metric('requestcount.metric.istio-system', 1, [
          ['destination_service', 'ratings'],
          ['response_code', 200],
        ]),
        metric('requestduration.metric.istio-system', new Duration(12.5), []),
        metric('unknown.metric.istio-system', 1, []),
      ]);
      for (let i = 0; i < 50 && packets.length === 0; i++) await sleep(10);
      await h.close?.();
      assert.deepEqual(packets.join('\n').split('\n'), [
        'istio.requests.ratings.200:1|c',
        'istio.requestduration:12.5|ms',
      ]);
    });

    it('refuses a bad address, naming the field', () => {
      assert.throws(
        () => make(statsd, { address: 'nowhere' }),
        /spec\.address: "nowhere" must be host:port/,
      );
    });
  });

  describe('memquota', () => {
    const q = (dims: [string, Value][] = [['d', 'x']]): QuotaInstance => ({
      template: 'quota',
      name: 'rq.quota.ns',
      dimensions: new Map(dims),
    });

    it('is a rolling window: allocations expire validDuration after they were made', async () => {
      let now = 1_000_000;
      const h = make(
        memquota,
        { quotas: [{ name: 'rq.quota.ns', maxAmount: 3, validDuration: '10s' }] },
        () => now,
      );
      const take = async () =>
        (await h.quota?.(q(), { amount: 1, bestEffort: false, deduplicationId: '' }))?.granted;
      assert.deepEqual([await take(), await take()], [1, 1]);
      now += 6000;
      assert.deepEqual([await take(), await take()], [1, 0]);
      now += 5000; // the first two (11 s old) left the window
      assert.deepEqual([await take(), await take(), await take()], [1, 1, 0]);
      await h.close?.();
    });

    it('grants what is left to best-effort asks and counts dimensions apart', async () => {
      const h = make(memquota, {
        quotas: [{ name: 'rq.quota.ns', maxAmount: 5, validDuration: '1s' }],
      });
      assert.equal(
        (await h.quota?.(q(), { amount: 3, bestEffort: false, deduplicationId: '' }))?.granted,
        3,
      );
      assert.equal(
        (await h.quota?.(q(), { amount: 3, bestEffort: false, deduplicationId: '' }))?.granted,
        0,
      );
      assert.equal(
        (await h.quota?.(q(), { amount: 3, bestEffort: true, deduplicationId: '' }))?.granted,
        2,
      );
      assert.equal(
        (await h.quota?.(q([['d', 'y']]), { amount: 3, bestEffort: false, deduplicationId: '' }))
          ?.granted,
        3,
      );
      await h.close?.();
    });

    it('refuses a bad spec, naming the field', () => {
      assert.throws(
        () => make(memquota, { quotas: [{ name: 'a', maxAmount: 'lots' }] }),
        /spec\.quotas\[0\]\.maxAmount: must be an integer/,
      );
      assert.throws(
        () => make(memquota, { quotas: [{ name: 'a', maxAmuont: 1 }] }),
        /spec\.quotas\[0\]\.maxAmuont: unknown field/,
      );
    });
  });

  describe('listchecker', () => {
    let server: Server;
    let body = 'v1\n# comment\nv2\n';
    let up = true;
    let url = '';
    before(async () => {
      server = createServer((_req, res) => {
        if (!up) res.writeHead(503).end();
        else res.end(body);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${String((server.address() as { port: number }).port)}/list`;
    });
    after(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    const entry = (value: Value) => ({
      template: 'listentry' as const,
      name: 'e.listentry.ns',
      value,
    });

    it('checks IP addresses against ranges (blacklist)', async () => {
      const h = make(listchecker, {
        overrides: ['10.0.0.0/8', '192.168.1.7'],
        entryType: 'IP_ADDRESSES',
        blacklist: true,
      });
      const code = async (ip: string) =>
        (await h.check?.(entry(IpAddress.parse(ip) as IpAddress)))?.status.code;
      assert.deepEqual(
        [await code('10.20.30.40'), await code('192.168.1.7'), await code('192.168.1.8')],
        [7, 7, 0],
      );
      await h.close?.();
    });

    it('compares case-insensitively when asked', async () => {
      const h = make(listchecker, { overrides: ['Jason'], entryType: 'CASE_INSENSITIVE_STRINGS' });
      assert.equal((await h.check?.(entry('jASON')))?.status.code, 0);
      await h.close?.();
    });

    it('fetches its list from the provider URL and refreshes it', async () => {
      const h = make(listchecker, {
        providerUrl: url,
        refreshInterval: '50ms',
        ttl: '10s',
        cachingInterval: '2s',
        cachingUseCount: 7,
      });
      for (let i = 0; i < 100; i++) {
        try {
          await h.check?.(entry('v1'));
          break;
        } catch {
          await sleep(10);
        }
      }
      const r = await h.check?.(entry('v1'));
      assert.deepEqual(r, {
        status: { code: 0, message: '' },
        validDurationMs: 2000,
        validUseCount: 7,
      });
      assert.equal((await h.check?.(entry('v3')))?.status.code, 5);
      body = '["v3"]';
      await sleep(150);
      assert.equal((await h.check?.(entry('v3')))?.status.code, 0);
      await h.close?.();
    });

    it('fails (for the fail policy) until a provider list has been fetched', async () => {
      up = false;
      const h = make(listchecker, { providerUrl: url, refreshInterval: '1s' });
      await sleep(50);
      assert.throws(
        () => h.check?.(entry('v1')),
        /list from http:\/\/127\.0\.0\.1:\d+\/list is unavailable \(HTTP 503\)/,
      );
      up = true;
      await h.close?.();
    });
  });
});
