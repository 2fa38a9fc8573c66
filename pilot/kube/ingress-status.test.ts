import assert from 'node:assert/strict';
import type { V1Service } from '@kubernetes/client-node';
import { gatewayAddresses } from './ingress-status.ts';

const svc = (ingress: { ip?: string; hostname?: string }[]): V1Service => ({
  status: { loadBalancer: { ingress } },
});

describe('pilot: Ingress addresses from the gateway Service', () => {
  it('merges every Service named so, drops duplicates and empty entries, sorts', () => {
    assert.deepEqual(
      gatewayAddresses([
        svc([{ ip: '203.0.113.20' }, { hostname: 'lb.example.com' }]),
        svc([{ ip: '203.0.113.10' }, { ip: '203.0.113.20' }, {}]),
        {},
      ]),
      [{ hostname: 'lb.example.com' }, { ip: '203.0.113.10' }, { ip: '203.0.113.20' }],
    );
  });

  it('no load balancer: no addresses (the Ingresses are cleared)', () => {
    assert.deepEqual(gatewayAddresses([svc([])]), []);
  });
});
