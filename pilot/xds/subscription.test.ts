import assert from 'node:assert/strict';
import { TypeUrl, type XdsType } from '../../lib/xds/type-urls.ts';
import type { Resource } from '../generate/resource.ts';
import type { ProxySnapshot } from '../snapshot/proxy-snapshot.ts';
import { TypeState } from './subscription.ts';

const res = (typeUrl: XdsType, name: string, hash: string): Resource => ({
  typeUrl,
  name,
  any: new Uint8Array(),
  hash,
  refs: { clusters: [], routes: [], eds: false },
});
const snap = (version: number): ProxySnapshot => ({ version, changedAt: 0, resources: new Map() });
const hashes = (m: ReadonlyMap<string, Resource>) =>
  Object.fromEntries([...m].map(([k, v]) => [k, v.hash]));

describe('TypeState: what the client holds once it ACKs', () => {
  it('EDS: an ACK makes acked what was sent, one changed resource at a time', () => {
    const st = new TypeState(TypeUrl.ClusterLoadAssignment);
    st.subscribe(['a', 'b', 'c']);
    const eds = (n: string, h: string) => res(TypeUrl.ClusterLoadAssignment, n, h);
    st.recordSent('1', '1', snap(1), [eds('a', 'a1'), eds('b', 'b1'), eds('c', 'c1')], [], false);
    assert.deepEqual(hashes(st.acked), {}, 'nothing held before the first ACK');
    st.ack();
    assert.deepEqual(hashes(st.acked), { a: 'a1', b: 'b1', c: 'c1' });
    st.recordSent('2', '2', snap(2), [eds('b', 'b2')], [], false);
    assert.deepEqual(hashes(st.acked), { a: 'a1', b: 'b1', c: 'c1' }, 'not ACKed yet');
    st.ack();
    assert.deepEqual(hashes(st.acked), { a: 'a1', b: 'b2', c: 'c1' });
    assert.equal(st.ackedFrom.get('b')?.version, 2);
    assert.equal(st.ackedFrom.get('a')?.version, 1);
    // Unsubscribing forgets what was sent; the next ACK drops it from what the client holds.
    st.subscribe(['a', 'b']);
    st.recordSent('3', '3', snap(3), [eds('a', 'a3')], [], false);
    st.ack();
    assert.deepEqual(hashes(st.acked), { a: 'a3', b: 'b2' });
    assert.equal(st.ackedFrom.has('c'), false);
  });

  it('a NACKed response is not held; the ACK of a later one brings both', () => {
    const st = new TypeState(TypeUrl.ClusterLoadAssignment);
    st.subscribe(['a', 'b']);
    const eds = (n: string, h: string) => res(TypeUrl.ClusterLoadAssignment, n, h);
    st.recordSent('1', '1', snap(1), [eds('a', 'a1'), eds('b', 'b1')], [], false);
    st.ack();
    st.recordSent('2', '2', snap(2), [eds('a', 'a2')], [], false);
    st.nack('bad');
    assert.deepEqual(hashes(st.acked), { a: 'a1', b: 'b1' });
    st.recordSent('3', '3', snap(3), [eds('b', 'b3')], [], false);
    st.ack();
    assert.deepEqual(hashes(st.acked), { a: 'a2', b: 'b3' });
  });

  it('CDS: a full response replaces what is held', () => {
    const st = new TypeState(TypeUrl.Cluster);
    st.subscribe([]);
    const cds = (n: string, h: string) => res(TypeUrl.Cluster, n, h);
    st.recordSent('1', '1', snap(1), [cds('a', 'a1'), cds('b', 'b1')], [], true);
    st.ack();
    st.recordSent('2', '2', snap(2), [cds('b', 'b2'), cds('c', 'c2')], [], true);
    st.ack();
    assert.deepEqual(hashes(st.acked), { b: 'b2', c: 'c2' });
    assert.deepEqual([...st.ackedFrom.keys()].sort(), ['b', 'c']);
  });

  it('a request repeating the last names (same key) is recognised without reading them', () => {
    const st = new TypeState(TypeUrl.ClusterLoadAssignment);
    const key = Buffer.from('names-1');
    assert.equal(st.sameNamesKey(key), false, 'nothing subscribed yet');
    st.subscribe(['a'], key);
    assert.equal(st.sameNamesKey(Buffer.from('names-1')), true);
    assert.equal(st.sameNamesKey(Buffer.from('names-2')), false);
    assert.equal(st.sameNamesKey(undefined), false);
    st.subscribeDelta(['b'], [], new Map());
    assert.equal(st.sameNamesKey(Buffer.from('names-1')), false, 'the names changed otherwise');
  });
});
