import assert from 'node:assert/strict';
import type { V1Pod } from '@kubernetes/client-node';
import { PodIpIndex } from './pod-workloads.ts';

function pod(
  name: string,
  ip: string,
  extra: { phase?: string; hostNetwork?: boolean } = {},
): V1Pod {
  return {
    metadata: { name, namespace: 'default', labels: { app: name } },
    spec: {
      containers: [],
      serviceAccountName: `sa-${name}`,
      ...(extra.hostNetwork === undefined ? {} : { hostNetwork: extra.hostNetwork }),
    },
    status: { phase: extra.phase ?? 'Running', podIP: ip, podIPs: [{ ip }] },
  };
}

describe('mixer: pods by IP', () => {
  it('names the pod at an IP, with its labels and service account', () => {
    const i = new PodIpIndex();
    i.put(pod('a', '10.0.0.1'));
    const w = i.byIp('10.0.0.1');
    assert.ok(w);
    assert.equal(w.name, 'a');
    assert.equal(w.serviceAccount, 'sa-a');
    assert.deepEqual(w.labels, new Map([['app', 'a']]));
    assert.equal(i.byIp('10.0.0.2'), undefined);
  });

  it('leaves out host-network and finished pods', () => {
    const i = new PodIpIndex();
    i.put(pod('node-agent', '192.168.1.1', { hostNetwork: true }));
    i.put(pod('job', '10.0.0.5', { phase: 'Succeeded' }));
    assert.equal(i.size, 0);
  });

  it('an IP taken over by a new pod: the newest claim answers, and the survivor after a delete', () => {
    const i = new PodIpIndex();
    const old = pod('old', '10.0.0.7');
    const fresh = pod('new', '10.0.0.7');
    i.put(old);
    i.put(fresh);
    assert.equal(i.byIp('10.0.0.7')?.name, 'new');
    i.put(old); // a late update of the old pod, still Running in the cache
    assert.equal(i.byIp('10.0.0.7')?.name, 'old');
    i.remove(old);
    assert.equal(i.byIp('10.0.0.7')?.name, 'new', 'the new pod still holds the IP');
    i.put(pod('new', '10.0.0.8')); // moved
    assert.equal(i.byIp('10.0.0.7'), undefined);
    assert.equal(i.byIp('10.0.0.8')?.name, 'new');
  });
});
