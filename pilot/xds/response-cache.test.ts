import assert from 'node:assert/strict';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import { makeResource } from '../generate/resource.ts';
import { ResponseCache } from './response-cache.ts';

const cla = (name: string, port: number) =>
  makeResource(TypeUrl.ClusterLoadAssignment, name, {
    cluster_name: name,
    endpoints: [
      {
        lb_endpoints: [
          { endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: port } } } },
        ],
      },
    ],
  });

describe('ResponseCache', () => {
  it('gives streams sending the same resources the same nonce and bytes, encoded once', () => {
    const cache = new ResponseCache('test');
    const a = cla('a', 80);
    const b = cla('b', 80);
    const one = cache.response(3, TypeUrl.ClusterLoadAssignment, [a, b]);
    const two = cache.response(3, TypeUrl.ClusterLoadAssignment, [a, b]);
    assert.equal(two.nonce, one.nonce);
    assert.equal(two.bytes, one.bytes);
    assert.match(one.nonce, /^3-\d+$/);
  });

  it('never gives one nonce to two contents: other resources, order, removals or a dropped version', () => {
    const cache = new ResponseCache('test', 1);
    const a = cla('a', 80);
    const b = cla('b', 80);
    const nonces = [
      cache.response(3, TypeUrl.ClusterLoadAssignment, [a, b]).nonce,
      cache.response(3, TypeUrl.ClusterLoadAssignment, [b, a]).nonce,
      cache.response(3, TypeUrl.ClusterLoadAssignment, [a, cla('b', 81)]).nonce,
      cache.delta(3, TypeUrl.ClusterLoadAssignment, { resources: [a], removed: [] }).nonce,
      cache.delta(3, TypeUrl.ClusterLoadAssignment, { resources: [a], removed: ['b'] }).nonce,
      cache.response(4, TypeUrl.ClusterLoadAssignment, [a, b]).nonce,
    ];
    // Version 3 is dropped (one version kept); asking for it again encodes anew, under a new nonce.
    nonces.push(cache.response(3, TypeUrl.ClusterLoadAssignment, [b]).nonce);
    assert.equal(new Set(nonces).size, nonces.length, nonces.join(' '));
  });
});
