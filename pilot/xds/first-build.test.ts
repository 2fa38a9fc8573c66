import assert from 'node:assert/strict';
import { service } from '../testing/fixtures.ts';
import { startHarness, type Harness } from '../testing/harness.ts';
import { fixtureRegistry } from '../testing/mesh-fixture.ts';

describe('discovery: the first snapshot is built as soon as the registry is synced', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('is ready at once when the registry syncs, with no debounce; later changes are debounced', async () => {
    const registry = fixtureRegistry();
    let synced = false;
    registry.setSyncCheck(() => (synced ? undefined : 'informers not synced'));
    // A debounce far longer than the test: only a build that skips it can make Pilot ready.
    h = await startHarness({ registry, debounceMs: 60_000, debounceMaxMs: 60_000 });
    assert.equal(h.discovery.notReady(), 'informers not synced');
    synced = true;
    registry.notify();
    assert.equal(h.discovery.notReady(), undefined, 'ready as soon as the registry synced');
    const first = h.discovery.current()?.version;
    assert.ok(first !== undefined);
    registry.setService(service('later', 'shop', { http: 80 }, '10.0.9.9'));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(h.discovery.current()?.version, first, 'a later change waits for the debounce');
  });
});
