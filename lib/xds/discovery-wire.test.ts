import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { decodeDiscoveryRequest, encodeDiscoveryRequest } from './discovery-wire.ts';
import { TypeUrl } from './type-urls.ts';

const eds = (names: string[], nonce = 'n1') =>
  encodeDiscoveryRequest({
    typeUrl: TypeUrl.ClusterLoadAssignment,
    resourceNames: names,
    responseNonce: nonce,
    versionInfo: '3',
    node: { id: 'sidecar~10.0.0.1~a.ns~ns.svc.cluster.local' },
  });

describe('decodeDiscoveryRequest', () => {
  it('reads every field, names included', () => {
    const r = decodeDiscoveryRequest(eds(['outbound|80||a', 'outbound|80||b']));
    assert.equal(r.typeUrl, TypeUrl.ClusterLoadAssignment);
    assert.equal(r.responseNonce, 'n1');
    assert.equal(r.versionInfo, '3');
    assert.equal(r.node?.id, 'sidecar~10.0.0.1~a.ns~ns.svc.cluster.local');
    assert.deepEqual(r.resourceNames, ['outbound|80||a', 'outbound|80||b']);
  });

  it('keys the names: equal for the same names in the same order, whatever else differs', () => {
    const a = decodeDiscoveryRequest(eds(['x', 'y'], 'n1')).resourceNamesKey;
    const b = decodeDiscoveryRequest(eds(['x', 'y'], 'n2')).resourceNamesKey;
    const c = decodeDiscoveryRequest(eds(['y', 'x'])).resourceNamesKey;
    const d = decodeDiscoveryRequest(eds(['x', 'yy'])).resourceNamesKey;
    assert.ok(a && b && c && d);
    assert.ok(Buffer.from(a).equals(Buffer.from(b)));
    assert.ok(!Buffer.from(a).equals(Buffer.from(c)));
    assert.ok(!Buffer.from(a).equals(Buffer.from(d)));
    assert.equal(decodeDiscoveryRequest(eds([])).resourceNamesKey, undefined);
    assert.deepEqual(decodeDiscoveryRequest(eds([])).resourceNames, []);
  });

  it('keeps its own copy: the message buffer may be reused once decoded', () => {
    const bytes = Buffer.from(eds(['outbound|80||a']));
    const r = decodeDiscoveryRequest(bytes);
    bytes.fill(0);
    assert.deepEqual(r.resourceNames, ['outbound|80||a']);
    assert.ok(r.resourceNamesKey);
    assert.match(Buffer.from(r.resourceNamesKey).toString('latin1'), /outbound\|80\|\|a/);
  });

  it("asks the stream's history about the names while decoding; repeated names are neither copied nor read", () => {
    const asked: [string, string][] = [];
    const first = decodeDiscoveryRequest(eds(['x', 'y']));
    const key = Buffer.from(first.resourceNamesKey ?? []);
    const same = (t: string, k: Uint8Array) => {
      asked.push([t, Buffer.from(k).toString('latin1')]);
      return key.equals(k);
    };
    const ack = decodeDiscoveryRequest(eds(['x', 'y'], 'n2'), { sameNames: same });
    assert.deepEqual(asked, [[TypeUrl.ClusterLoadAssignment, key.toString('latin1')]]);
    assert.equal(ack.namesUnchanged, true);
    assert.equal(ack.resourceNamesKey, undefined);
    assert.equal(ack.responseNonce, 'n2');
    assert.throws(() => ack.resourceNames, /namesUnchanged/);

    const changed = decodeDiscoveryRequest(eds(['x', 'z']), { sameNames: same });
    assert.equal(changed.namesUnchanged, undefined);
    assert.deepEqual(changed.resourceNames, ['x', 'z']);
    assert.ok(changed.resourceNamesKey);
    // No names: nothing to ask.
    asked.length = 0;
    assert.deepEqual(decodeDiscoveryRequest(eds([]), { sameNames: same }).resourceNames, []);
    assert.deepEqual(asked, []);
  });

  it('reads names written between other fields, with no key', () => {
    const w = protobuf.Writer.create();
    w.uint32((3 << 3) | 2).string('a');
    w.uint32((4 << 3) | 2).string(TypeUrl.ClusterLoadAssignment);
    w.uint32((3 << 3) | 2).string('b');
    const r = decodeDiscoveryRequest(w.finish());
    assert.deepEqual(r.resourceNames, ['a', 'b']);
    assert.equal(r.resourceNamesKey, undefined);
  });

  it('refuses resource_names that are not length-delimited', () => {
    const w = protobuf.Writer.create();
    w.uint32((3 << 3) | 0).uint32(7);
    assert.throws(() => decodeDiscoveryRequest(w.finish()), /resource_names \(field 3\)/);
  });
});
