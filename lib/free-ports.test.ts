import assert from 'node:assert/strict';
import { freePort, freePorts } from './free-ports.ts';

describe('free ports', () => {
  it('hands out distinct free loopback ports', async () => {
    const ports = await freePorts(3);
    assert.equal(new Set(ports).size, 3);
    for (const p of ports) assert.ok(p > 0 && p < 65536);
  });

  it('one at a time too', async () => {
    const p = await freePort();
    assert.ok(p > 0 && p < 65536);
  });
});
