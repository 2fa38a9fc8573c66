import assert from 'node:assert/strict';
import { pino } from 'pino';
import type { Logger } from '../../lib/log.ts';
import { MemoryRegistry } from '../model/memory-registry.ts';
import type { PlatformRegistry, Service } from '../model/service.ts';
import { endpoint, service } from '../testing/fixtures.ts';
import { AggregateRegistry, conflictLine, standIn, statusLine } from './aggregate.ts';

function consulService(name: string, port = 9080): Service {
  return {
    hostname: `${name}.service.consul`,
    name,
    namespace: '',
    clusterIP: undefined,
    ports: [{ name: String(port), port, protocol: 'HTTP' }],
    registry: 'Consul',
  };
}

function member(name: string): { mem: MemoryRegistry; reg: PlatformRegistry } {
  const mem = new MemoryRegistry();
  return { mem, reg: standIn(mem, name) };
}

/** Log lines at warn, as pino writes them. */
function capture(): { logger: Logger; lines: () => string[] } {
  const out: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (s: string) => out.push(s) });
  return { logger, lines: () => out.map((l) => (JSON.parse(l) as { msg: string }).msg) };
}

describe('AggregateRegistry: registries as one', () => {
  it('merges services and endpoints from every registry, objects as they were', () => {
    const kube = member('Kubernetes');
    const consul = member('Consul');
    const web = service('web', 'shop', { http: 80 }, '10.96.0.1');
    const webEps = [endpoint('10.1.0.1', 8080, 'http')];
    kube.mem.setService(web);
    kube.mem.setEndpoints(web.hostname, webEps);
    const reviews = consulService('reviews');
    const reviewsEps = [endpoint('10.2.0.1', 9080, '9080')];
    consul.mem.setService(reviews);
    consul.mem.setEndpoints(reviews.hostname, reviewsEps);
    const agg = new AggregateRegistry([kube.reg, consul.reg], pino({ level: 'silent' }));
    const s = agg.current();
    assert.deepEqual([...s.services.keys()], [web.hostname, reviews.hostname]);
    assert.equal(s.services.get(web.hostname), web);
    assert.equal(s.services.get(reviews.hostname), reviews);
    assert.equal(s.endpoints.get(web.hostname), webEps);
    assert.equal(s.endpoints.get(reviews.hostname), reviewsEps);
    assert.deepEqual(agg.conflicts(), []);
  });

  it('keeps the merged objects while nothing changed, and the services map on endpoint changes', () => {
    const kube = member('Kubernetes');
    const consul = member('Consul');
    kube.mem.setService(service('web', 'shop', { http: 80 }, '10.96.0.1'));
    consul.mem.setService(consulService('reviews'));
    const agg = new AggregateRegistry([kube.reg, consul.reg], pino({ level: 'silent' }));
    const a = agg.current();
    assert.equal(agg.current(), a);
    consul.mem.setEndpoints('reviews.service.consul', [endpoint('10.2.0.1', 9080, '9080')]);
    const b = agg.current();
    assert.notEqual(b, a);
    // Generators key route caches on the services map: an endpoint change keeps it.
    assert.equal(b.services, a.services);
    assert.notEqual(b.endpoints, a.endpoints);
    consul.mem.setService(consulService('ratings'));
    const c = agg.current();
    assert.notEqual(c.services, b.services);
    assert.equal(
      c.services.get('web.shop.svc.cluster.local'),
      a.services.get('web.shop.svc.cluster.local'),
    );
  });

  it('serves a hostname two registries have from the first, reports it once, and forgets it when gone', () => {
    const kube = member('Kubernetes');
    const consul = member('Consul');
    const eureka = member('Eureka');
    const fromKube = { ...consulService('reviews'), registry: 'Kubernetes' };
    kube.mem.setService(fromKube);
    kube.mem.setEndpoints(fromKube.hostname, [endpoint('10.1.0.1', 9080, '9080')]);
    consul.mem.setService(consulService('reviews'));
    consul.mem.setEndpoints('reviews.service.consul', [endpoint('10.2.0.1', 9080, '9080')]);
    eureka.mem.setService({ ...consulService('reviews'), registry: 'Eureka' });
    const log = capture();
    const agg = new AggregateRegistry([kube.reg, consul.reg, eureka.reg], log.logger);
    const s = agg.current();
    assert.equal(s.services.get('reviews.service.consul'), fromKube);
    assert.deepEqual(
      s.endpoints.get('reviews.service.consul')?.map((e) => e.address),
      ['10.1.0.1'],
    );
    const expected = {
      hostname: 'reviews.service.consul',
      served: 'Kubernetes',
      ignored: ['Consul', 'Eureka'],
    };
    assert.deepEqual(agg.conflicts(), [expected]);
    assert.equal(
      conflictLine(expected),
      "reviews.service.consul: in Kubernetes and Consul and Eureka; Kubernetes's is served (first in --registries)",
    );
    // Rebuilt several times: still one warning.
    consul.mem.setService(consulService('other'));
    agg.current();
    assert.deepEqual(log.lines(), [`registry conflict: ${conflictLine(expected)}`]);

    kube.mem.deleteService('reviews.service.consul');
    eureka.mem.deleteService('reviews.service.consul');
    const t = agg.current();
    assert.deepEqual(agg.conflicts(), []);
    // Consul's now, endpoints included.
    assert.equal(t.services.get('reviews.service.consul')?.registry, 'Consul');
    assert.deepEqual(
      t.endpoints.get('reviews.service.consul')?.map((e) => e.address),
      ['10.2.0.1'],
    );
  });

  it('is synced when every registry is; tells listeners of any', () => {
    const kube = member('Kubernetes');
    const consul = member('Consul');
    let waiting: string | undefined = 'Consul registry not synced yet: waiting';
    consul.mem.setSyncCheck(() => waiting);
    const agg = new AggregateRegistry([kube.reg, consul.reg], pino({ level: 'silent' }));
    assert.equal(agg.notSynced(), 'Consul registry not synced yet: waiting');
    waiting = undefined;
    assert.equal(agg.notSynced(), undefined);
    let calls = 0;
    const off = agg.onChange(() => calls++);
    kube.mem.setService(service('a', 'b', { http: 80 }, undefined));
    consul.mem.setService(consulService('c'));
    off();
    consul.mem.setService(consulService('d'));
    assert.equal(calls, 2);
  });

  it('hands a single registry’s state through as it is', () => {
    const kube = member('Kubernetes');
    kube.mem.setService(service('a', 'b', { http: 80 }, undefined));
    const agg = new AggregateRegistry([kube.reg], pino({ level: 'silent' }));
    assert.equal(agg.current(), kube.mem.current());
  });

  it('says in one line which registry is down and what it serves meanwhile', () => {
    const base = {
      name: 'Consul',
      source: 'http://consul:8500',
      lastError: 'Consul http://consul:8500/v1/catalog/services: HTTP 500: oops',
      lastErrorMs: 9000,
      services: 3,
    };
    assert.equal(
      statusLine({ ...base, state: 'down', lastSyncMs: 1000, downSinceMs: 5000 }, 65_000),
      'Consul (http://consul:8500): down for 60 s, serving its last good view (3 services): Consul http://consul:8500/v1/catalog/services: HTTP 500: oops',
    );
    assert.equal(
      statusLine({ ...base, state: 'synced', lastSyncMs: 1000, downSinceMs: undefined }),
      undefined,
    );
    assert.match(
      statusLine({ ...base, state: 'down', lastSyncMs: undefined, downSinceMs: 0 }, 1000) ?? '',
      /down for 1 s, no view yet/,
    );
  });
});
