import assert from 'node:assert/strict';
import { parseOptions } from '../lib/config/options.ts';
import { pilotOptions, pilotSettings } from './settings.ts';

async function settings(flags: Record<string, string>) {
  return pilotSettings(parseOptions(pilotOptions, flags), process.cwd());
}

describe('pilot settings: --registries and the registries’ URLs', () => {
  it('reads Kubernetes alone by default', async () => {
    assert.deepEqual((await settings({})).registries, [{ kind: 'Kubernetes' }]);
  });

  it('takes several registries in order, with their URLs, as 0.2 spelled them', async () => {
    const s = await settings({
      registries: 'Kubernetes,Consul,Eureka',
      consulserverURL: 'http://consul:8500',
      eurekaserverURL: 'http://eureka:8761',
    });
    assert.deepEqual(s.registries, [
      { kind: 'Kubernetes' },
      { kind: 'Consul', url: 'http://consul:8500' },
      { kind: 'Eureka', url: 'http://eureka:8761', pollMs: 2000 },
    ]);
    const t = await settings({
      registries: 'eureka, consul',
      consulserverURL: 'http://consul:8500',
      eurekaserverURL: 'http://eureka:8761/eureka',
      eurekaPollInterval: '500ms',
    });
    assert.deepEqual(
      t.registries.map((r) => r.kind),
      ['Eureka', 'Consul'],
    );
    const bare = await settings({ registries: 'Consul', consulserverURL: '127.0.0.1:8500' });
    assert.deepEqual(bare.registries, [{ kind: 'Consul', url: 'http://127.0.0.1:8500' }]);
    assert.deepEqual(t.registries[0], {
      kind: 'Eureka',
      url: 'http://eureka:8761/eureka',
      pollMs: 500,
    });
  });

  it('refuses a registry without its URL, naming the flag', async () => {
    await assert.rejects(
      settings({ registries: 'Kubernetes,Consul' }),
      /--registries Consul needs --consulserverURL/,
    );
    await assert.rejects(
      settings({ registries: 'Eureka' }),
      /--registries Eureka needs --eurekaserverURL/,
    );
  });

  it('refuses unknown, repeated or no registries, and a URL that is not one', async () => {
    await assert.rejects(
      settings({ registries: 'Kubernetes,Zookeeper' }),
      /--registries: "Zookeeper" is not a registry Pilot knows \(Kubernetes, Consul, Eureka\)/,
    );
    await assert.rejects(
      settings({ registries: 'Kubernetes,kubernetes' }),
      /--registries: Kubernetes is named twice/,
    );
    await assert.rejects(settings({ registries: ',' }), /--registries: name at least one/);
    await assert.rejects(
      settings({ registries: 'Consul', consulserverURL: 'consul' }),
      /--consulserverURL: "consul" is not an http\(s\) URL/,
    );
    await assert.rejects(
      settings({ eurekaPollInterval: '10ms' }),
      /--eurekaPollInterval: "10ms" is shorter than 0.1s/,
    );
  });
});
