import assert from 'node:assert/strict';
import type { Endpoint, Service } from '../model/service.ts';
import { IpIndex, type IpInfo, type IpLookup } from './ip-index.ts';
import type { ServiceEntry } from './service-entry.ts';

/** A service entry with what the index reads: the service's ports and its endpoints. */
function entry(name: string, ips: readonly string[], version = 'v1'): ServiceEntry {
  const svc: Pick<Service, 'hostname' | 'ports'> = {
    hostname: `${name}.default.svc.cluster.local`,
    ports: [{ name: 'http', port: 9080, protocol: 'HTTP' }],
  };
  const eps = ips.map(
    (address): Pick<Endpoint, 'address' | 'port' | 'servicePortName' | 'labels'> => ({
      address,
      port: 9080,
      servicePortName: 'http',
      labels: { app: name, version },
    }),
  );
  return { svc, eps } as unknown as ServiceEntry;
}

const ips = Array.from({ length: 40 }, (_, i) => `10.0.0.${String(i)}`);

function answers(view: IpLookup): (IpInfo | undefined)[] {
  return ips.map((ip) => view.get(ip));
}

describe('pilot/snapshot/ip-index: the endpoints by IP, a view per build', () => {
  it('answers as a fresh index would after every change, and an older view never changes', () => {
    const index = new IpIndex();
    let entries = new Map<string, ServiceEntry>();
    for (let s = 0; s < 20; s++) {
      const e = entry(`svc-${String(s)}`, [ips[2 * s] ?? '', ips[2 * s + 1] ?? '']);
      entries.set(e.svc.hostname, e);
    }
    const kept: { view: IpLookup; saw: (IpInfo | undefined)[] }[] = [];
    // Twenty-five one-service changes (more than the views that stack before a new base): an
    // endpoint moves to another IP, an IP goes away, labels change, a service goes and comes back.
    for (let round = 0; round < 25; round++) {
      const next = new Map(entries);
      const host = `svc-${String(round % 20)}.default.svc.cluster.local`;
      if (round % 7 === 3) next.delete(host);
      else {
        const moved = round % 2 === 0 ? [ips[(round * 3) % 40] ?? ''] : [];
        next.set(host, entry(`svc-${String(round % 20)}`, moved, `v${String(round)}`));
      }
      entries = next;
      const view = index.update(entries);
      const fresh = new IpIndex().update(entries);
      assert.deepEqual(answers(view), answers(fresh), `round ${String(round)}`);
      kept.push({ view, saw: answers(view) });
    }
    for (const [i, k] of kept.entries())
      assert.deepEqual(answers(k.view), k.saw, `view ${String(i)}`);
  });

  it('returns the same view when no service changed', () => {
    const index = new IpIndex();
    const entries = new Map([['a', entry('a', ['10.0.0.1'])]]);
    const first = index.update(entries);
    assert.equal(index.update(new Map(entries)), first);
    assert.deepEqual(first.get('10.0.0.1')?.labels, { app: 'a', version: 'v1' });
    assert.equal(first.get('10.0.0.2'), undefined);
  });
});
