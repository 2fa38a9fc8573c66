import assert from 'node:assert/strict';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { keyUsageExtension, toDer } from './certificate-builder.ts';
import { children, parseDer, readOid, sequence, time, unsignedInteger } from './der.ts';
import { Oid } from './oids.ts';
import { x509 } from './x509.ts';
import { parseSpiffeId, spiffeId } from './spiffe.ts';
import { pemDecodeAll, pemEncode } from './pem.ts';

/** An OID as @peculiar/x509's ASN.1 schema encodes it (the encoder is the library's now). */
function oid(o: string): Buffer {
  const [node] = children(parseDer(toDer(new AlgorithmIdentifier({ algorithm: o }))));
  return node?.raw ?? Buffer.alloc(0);
}

/** Key usage named bits, encoded and read by the library. */
function namedBits(usages: x509.KeyUsageFlags): Buffer {
  return Buffer.from(keyUsageExtension(usages).value);
}
function readNamedBits(bitString: Buffer): number[] {
  const ext = new x509.Extension(Oid.keyUsage, true, bitString);
  const { usages } = new x509.KeyUsagesExtension(ext.rawData);
  return [0, 1, 2, 3, 4, 5, 6, 7, 8].filter((b) => (usages & (1 << b)) !== 0);
}

describe('DER', () => {
  const oids = ['1.2.840.10045.4.3.2', '2.5.29.17', '1.3.6.1.5.5.7.3.1', '2.999.3'];
  for (const o of oids) {
    it(`round-trips OID ${o}`, () => {
      assert.equal(readOid(parseDer(oid(o))), o);
    });
  }

  it('encodes integers minimally, with a sign octet when the top bit is set', () => {
    assert.deepEqual([...unsignedInteger(Buffer.from([0, 0, 0x7f]))], [0x02, 0x01, 0x7f]);
    assert.deepEqual([...unsignedInteger(Buffer.from([0x80]))], [0x02, 0x02, 0x00, 0x80]);
    assert.deepEqual([...unsignedInteger(Buffer.from([0]))], [0x02, 0x01, 0x00]);
    assert.deepEqual([...unsignedInteger(Buffer.from([1, 0]))], [0x02, 0x02, 0x01, 0x00]);
  });

  it('writes UTCTime before 2050 and GeneralizedTime from 2050', () => {
    assert.equal(time(new Date('2026-11-23T19:00:01Z')).subarray(2).toString(), '261123190001Z');
    assert.equal(time(new Date('2050-01-01T00:00:00Z')).subarray(2).toString(), '20500101000000Z');
    assert.equal(time(new Date('2050-01-01T00:00:00Z'))[0], 0x18);
  });

  it('encodes named bits without trailing zero bits', () => {
    const ku = namedBits(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment);
    assert.deepEqual([...ku], [0x03, 0x02, 0x05, 0xa0]);
    assert.deepEqual([...readNamedBits(ku)].sort(), [0, 2]);
  });

  it('uses long-form lengths above 127 bytes', () => {
    const big = sequence(Buffer.alloc(300, 0x05).fill(0));
    assert.deepEqual([...big.subarray(0, 4)], [0x30, 0x82, 0x01, 0x2c]);
    assert.equal(parseDer(big).content.length, 300);
  });

  const bad: { name: string; der: number[]; message: RegExp }[] = [
    { name: 'empty input', der: [], message: /truncated: expected a tag/ },
    { name: 'a length past the end', der: [0x30, 0x05, 0x01], message: /past the end/ },
    { name: 'an indefinite length', der: [0x30, 0x80, 0x00, 0x00], message: /indefinite/ },
    { name: 'a non-minimal length', der: [0x04, 0x81, 0x01, 0x00], message: /non-minimal/ },
    { name: 'trailing bytes', der: [0x05, 0x00, 0x00], message: /trailing bytes/ },
    { name: 'a high tag number', der: [0x1f, 0x81, 0x00], message: /high tag/ },
  ];
  for (const c of bad) {
    it(`refuses ${c.name}`, () => {
      assert.throws(() => children(parseDer(Buffer.from(c.der))), c.message);
    });
  }
});

describe('SPIFFE IDs', () => {
  it('formats and parses the Istio shape', () => {
    const id = { trustDomain: 'cluster.local', namespace: 'ns-1', serviceAccount: 'sa.x' };
    assert.equal(spiffeId(id), 'spiffe://cluster.local/ns/ns-1/sa/sa.x');
    assert.deepEqual(parseSpiffeId(spiffeId(id)), id);
  });
  for (const s of [
    'spiffe://cluster.local/ns/a/sa/b/c',
    'spiffe://cluster.local/sa/b',
    'https://cluster.local/ns/a/sa/b',
    'spiffe://cluster.local/ns/A/sa/b',
  ]) {
    it(`rejects ${s}`, () => {
      assert.equal(parseSpiffeId(s), undefined);
    });
  }
});

describe('PEM', () => {
  it('round-trips and finds blocks among text', () => {
    const der = Buffer.from([1, 2, 3, 4, 5]);
    const text = `junk\n${pemEncode('CERTIFICATE', der)}more\n${pemEncode('PRIVATE KEY', der)}`;
    const blocks = pemDecodeAll(text);
    assert.deepEqual(
      blocks.map((b) => b.label),
      ['CERTIFICATE', 'PRIVATE KEY'],
    );
    assert.ok(blocks[0]?.der.equals(der));
  });
  it('refuses mismatched labels', () => {
    assert.throws(() => pemDecodeAll('-----BEGIN A-----\nAAAA\n-----END B-----'), /ends with "B"/);
  });
});
