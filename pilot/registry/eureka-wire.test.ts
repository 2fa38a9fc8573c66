import assert from 'node:assert/strict';
import { parseEurekaApps } from './eureka-wire.ts';

const what = 'Eureka http://eureka:8761/eureka/v2/apps';

/** An instance as Eureka's Jackson codec writes it (0.2's testdata, trimmed). */
const instance = {
  instanceId: 'foo.bar.local-10.0.0.1-5000',
  hostName: 'foo.bar.local',
  app: 'FOO_BAR_LOCAL',
  ipAddr: '10.0.0.1',
  status: 'UP',
  overriddenstatus: 'UNKNOWN',
  port: { $: 5000, '@enabled': 'true' },
  securePort: { $: 5443, '@enabled': 'false' },
  countryId: 1,
  dataCenterInfo: {
    '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo',
    name: 'MyOwn',
  },
  leaseInfo: { renewalIntervalInSecs: 30, durationInSecs: 90 },
  metadata: { '@class': 'java.util.Collections$EmptyMap', 'istio.protocol': 'HTTP' },
  isCoordinatingDiscoveryServer: 'false',
  lastUpdatedTimestamp: '1502120007390',
  actionType: 'ADDED',
};

function apps(application: unknown): unknown {
  return { applications: { versions__delta: '1', apps__hashcode: 'UP_1_', application } };
}

describe('Eureka wire: {base}/apps in JSON', () => {
  it('reads applications and instances; @enabled is a string', () => {
    const [app] = parseEurekaApps(apps([{ name: 'FOO_BAR_LOCAL', instance: [instance] }]), what);
    assert.ok(app);
    assert.equal(app.name, 'FOO_BAR_LOCAL');
    const [i] = app.instances;
    assert.ok(i);
    assert.equal(i.hostName, 'foo.bar.local');
    assert.equal(i.ipAddr, '10.0.0.1');
    assert.equal(i.status, 'UP');
    assert.deepEqual(i.port, { port: 5000, enabled: true });
    assert.deepEqual(i.securePort, { port: 5443, enabled: false });
    assert.deepEqual(
      [...i.metadata],
      [
        ['@class', 'java.util.Collections$EmptyMap'],
        ['istio.protocol', 'HTTP'],
      ],
    );
  });

  it('takes one element written as the element itself, and an empty list left out', () => {
    const one = parseEurekaApps(apps({ name: 'A', instance }), what);
    assert.equal(one.length, 1);
    assert.equal(one[0]?.instances.length, 1);
    assert.deepEqual(parseEurekaApps(apps([]), what), []);
    assert.deepEqual(parseEurekaApps({ applications: { versions__delta: '1' } }, what), []);
    assert.deepEqual(parseEurekaApps(apps(''), what), []);
    assert.deepEqual(parseEurekaApps(apps([{ name: 'EMPTY' }]), what)[0]?.instances, []);
  });

  it('takes ports written as strings and booleans, and a port left out', () => {
    const [app] = parseEurekaApps(
      apps({
        name: 'A',
        instance: {
          ...instance,
          port: { $: '8080', '@enabled': true },
          securePort: undefined,
        },
      }),
      what,
    );
    const i = app?.instances[0];
    assert.ok(i);
    assert.deepEqual(i.port, { port: 8080, enabled: true });
    assert.equal(i.securePort, undefined);
  });

  it('names the field and the URL of anything else', () => {
    const cases: [unknown, RegExp][] = [
      ['<html/>', /eureka\/v2\/apps: \(root\): must be an object, got string/],
      [{ apps: [] }, /eureka\/v2\/apps: applications: is required/],
      [apps(7), /applications\.application: must be a list or an object, got number 7/],
      [
        apps([{ name: 'A', instance: [instance, { ...instance, port: { $: 'eighty' } }] }]),
        /applications\.application\[0\]\.instance\[1\]\.port\.\$: must be a port number, got string "eighty"/,
      ],
      [
        apps([{ name: 'A', instance: { ...instance, port: { $: 80, '@enabled': 'yes' } } }]),
        /applications\.application\[0\]\.instance\.port\.@enabled: must be "true" or "false", got string "yes"/,
      ],
      [
        apps([{ name: 'A', instance: { ...instance, metadata: { weight: 3 } } }]),
        /instance\.metadata\.weight: must be a string, got number 3/,
      ],
      [
        apps([{ name: 'A', instance: { ...instance, hostName: ['a'] } }]),
        /instance\.hostName: must be a string/,
      ],
    ];
    for (const [body, re] of cases) assert.throws(() => parseEurekaApps(body, what), re);
  });
});
