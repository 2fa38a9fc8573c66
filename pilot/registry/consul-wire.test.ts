import assert from 'node:assert/strict';
import { consulIndex, nextIndex, parseCatalogServices, parseHealthService } from './consul-wire.ts';

const what = 'Consul http://consul:8500/v1/health/service/web';

/** An entry of /v1/health/service/web as Consul 1.14 writes it (fields Pilot ignores included). */
const entry = {
  Node: {
    ID: '40e4a748-2192-161a-0510-9bf59fe950b5',
    Node: 'node-a',
    Address: '10.1.0.1',
    Datacenter: 'dc1',
    TaggedAddresses: { lan: '10.1.0.1', wan: '10.1.0.1' },
    Meta: { 'consul-network-segment': '', protocol: 'grpc' },
    CreateIndex: 5,
    ModifyIndex: 6,
  },
  Service: {
    Kind: '',
    ID: 'web-1',
    Service: 'web',
    Tags: ['version|v1', 'primary'],
    Address: '10.1.0.7',
    Meta: { protocol: 'http2' },
    Port: 9080,
    Weights: { Passing: 1, Warning: 1 },
    EnableTagOverride: false,
    Proxy: { MeshGateway: {}, Expose: {} },
    Connect: {},
    CreateIndex: 12,
    ModifyIndex: 12,
  },
  Checks: [
    { Node: 'node-a', CheckID: 'serfHealth', Name: 'Serf Health Status', Status: 'passing' },
    { Node: 'node-a', CheckID: 'service:web-1', Status: 'critical', ServiceID: 'web-1' },
  ],
};

describe('Consul wire: the catalog, health entries and blocking-query index', () => {
  it('reads the catalog service names, sorted', () => {
    assert.deepEqual(parseCatalogServices({ web: ['a'], consul: [], db: null }, 'Consul x'), [
      'consul',
      'db',
      'web',
    ]);
  });

  it('names the field and the URL when the catalog is not what Consul sends', () => {
    assert.throws(
      () => parseCatalogServices({ web: 'tag' }, 'Consul http://c/v1/catalog/services'),
      /^IstioLiteError: Consul http:\/\/c\/v1\/catalog\/services: web: must be a list of strings, got string "tag"/,
    );
    assert.throws(
      () => parseCatalogServices(['web'], 'Consul x'),
      /Consul x: \(root\): must be an object/,
    );
  });

  it('reads node, service and checks; Consul nulls are empty', () => {
    const [e] = parseHealthService([entry], what);
    assert.ok(e);
    assert.equal(e.node.node, 'node-a');
    assert.equal(e.node.address, '10.1.0.1');
    assert.equal(e.node.meta.get('protocol'), 'grpc');
    assert.equal(e.service.id, 'web-1');
    assert.equal(e.service.address, '10.1.0.7');
    assert.equal(e.service.port, 9080);
    assert.deepEqual(e.service.tags, ['version|v1', 'primary']);
    assert.equal(e.service.meta.get('protocol'), 'http2');
    assert.deepEqual(
      e.checks.map((c) => c.status),
      ['passing', 'critical'],
    );
    const [bare] = parseHealthService(
      [{ Node: { Node: 'n', Meta: null }, Service: { ID: 'x', Service: 'x', Tags: null } }],
      what,
    );
    assert.ok(bare);
    assert.deepEqual(bare.service.tags, []);
    assert.equal(bare.service.meta.size, 0);
    assert.equal(bare.service.port, 0);
    assert.deepEqual(bare.checks, []);
  });

  it('names the field of a wrong entry', () => {
    const bad = { ...entry, Service: { ...entry.Service, Port: '9080' } };
    assert.throws(
      () => parseHealthService([entry, bad], what),
      /health\/service\/web: \[1\]\.Service\.Port: must be an integer from 0 to 65535, got string "9080"/,
    );
    assert.throws(
      () => parseHealthService({ web: [] }, what),
      /\(root\): must be a list, got an object/,
    );
    assert.throws(() => parseHealthService([null], what), /\[0\]: must be an object, got null/);
    assert.throws(
      () => parseHealthService([{ ...entry, Checks: [{ CheckID: 'c', Status: 'green' }] }], what),
      /\[0\]\.Checks\[0\]\.Status: must be one of passing, warning, critical, maintenance/,
    );
    assert.throws(
      () => parseHealthService([{ ...entry, Node: { Address: '10.0.0.1' } }], what),
      /\[0\]\.Node\.Node: is required/,
    );
  });

  it('reads X-Consul-Index and follows Consul’s rules for the next index', () => {
    assert.equal(consulIndex('42', what), 42);
    assert.throws(() => consulIndex(null, what), /X-Consul-Index: header missing/);
    assert.throws(() => consulIndex('abc', what), /X-Consul-Index: must be a number, got "abc"/);
    assert.equal(nextIndex(0, 42), 42);
    assert.equal(nextIndex(42, 50), 50);
    // Went backwards: Consul's state was reset (a restart); read everything again.
    assert.equal(nextIndex(50, 7), 0);
    // 0 never goes back: it would not block.
    assert.equal(nextIndex(0, 0), 1);
  });
});
