import assert from 'node:assert/strict';
import { assertNoUnknownFields, decodeMessage, messageType } from '../../lib/xds/protos.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import { upstreamTlsSocket } from './tls.ts';

function value(sans: readonly string[], sni: string): Uint8Array {
  const any = upstreamTlsSocket(sans, sni).typed_config;
  assert.ok(any && 'value' in any && any.value instanceof Uint8Array);
  assert.equal(any.type_url, TypeUrl.UpstreamTlsContext);
  return any.value;
}

describe('upstreamTlsSocket (the peers part encoded once, the context written around it)', () => {
  const sans = ['spiffe://cluster.local/ns/shop/sa/reviews'];

  it('is an UpstreamTlsContext with the SNI and the peers, in canonical encoding', () => {
    const bytes = value(sans, 'outbound_.9080_._.reviews.shop.svc.cluster.local');
    assertNoUnknownFields(TypeUrl.UpstreamTlsContext, bytes);
    const t = messageType(TypeUrl.UpstreamTlsContext);
    assert.deepEqual(Buffer.from(t.encode(t.decode(bytes)).finish()), Buffer.from(bytes));
    const o = decodeMessage(TypeUrl.UpstreamTlsContext, bytes);
    assert.equal(o['sni'], 'outbound_.9080_._.reviews.shop.svc.cluster.local');
    const text = JSON.stringify(o);
    assert.match(text, /spiffe:\/\/cluster\.local\/ns\/shop\/sa\/reviews/);
    assert.match(text, /"alpn_protocols":\["istio"\]/);
    assert.match(text, /ROOTCA/);
  });

  it('differs by SNI and by peers, and the same inputs give the same bytes', () => {
    const a = Buffer.from(value(sans, 'a'));
    assert.deepEqual(Buffer.from(value(sans, 'a')), a);
    assert.notDeepEqual(Buffer.from(value(sans, 'b')), a);
    const other = decodeMessage(TypeUrl.UpstreamTlsContext, value(['spiffe://x/ns/y/sa/z'], 'a'));
    assert.match(JSON.stringify(other), /spiffe:\/\/x\/ns\/y\/sa\/z/);
    assert.doesNotMatch(JSON.stringify(other), /sa\/reviews/);
  });

  it('an empty SNI is left out, as the whole message would encode it', () => {
    const o = decodeMessage(TypeUrl.UpstreamTlsContext, value([], ''));
    assert.equal(o['sni'] ?? '', '');
  });
});
