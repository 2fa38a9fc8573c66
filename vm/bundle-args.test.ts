import assert from 'node:assert/strict';
import { parseOptions, type RawValue } from '../lib/config/options.ts';
import { parseBundleRequest, vmBundleOptions } from './bundle-args.ts';

const parse = (flags: Record<string, RawValue>) =>
  parseBundleRequest(
    parseOptions(vmBundleOptions, {
      'service-account': 'db',
      namespace: 'legacy',
      output: '/tmp/b',
      ...flags,
    }),
  );

describe('vm bundle flags', () => {
  it('has defaults for the capture ports and the control-plane namespace, and a random node name', () => {
    const r = parse({});
    assert.equal(r.controlPlaneNamespace, 'istio-system');
    assert.equal(r.inboundPorts, '*');
    assert.equal(r.localExcludePorts, '22,15020,15021,15090');
    assert.match(r.node, /^db-[0-9a-f]{6}$/);
    assert.notEqual(parse({}).node, r.node);
    assert.equal(r.force, false);
  });

  it('takes every flag', () => {
    const r = parse({
      'service-cidr': '10.96.0.0/12, fd00::/108',
      'inbound-ports': '80, 443',
      'pilot-address': '10.0.0.1:15010',
      group: 'db',
      ip: '10.0.0.7',
      node: 'db-1',
      'token-ttl': '24h',
      force: true,
    });
    assert.equal(r.serviceCidr, '10.96.0.0/12,fd00::/108');
    assert.equal(r.inboundPorts, '80,443');
    assert.deepEqual(r.pilotAddress, { host: '10.0.0.1', port: 15010, isIp: true });
    assert.equal(r.group, 'db');
    assert.equal(r.ip, '10.0.0.7');
    assert.equal(r.node, 'db-1');
    assert.equal(r.tokenTtlMs, 86_400_000);
    assert.equal(r.force, true);
  });

  const bad: { flags: Record<string, RawValue>; message: RegExp }[] = [
    { flags: { 'service-account': undefined }, message: /^--service-account is required$/ },
    { flags: { output: undefined }, message: /^--output is required$/ },
    { flags: { namespace: 'Legacy' }, message: /^--namespace: "Legacy" is not a namespace name$/ },
    { flags: { ip: '10.0.0.300' }, message: /^--ip: "10\.0\.0\.300" is not an IP address$/ },
    {
      flags: { 'service-cidr': '10.96.0.0/33' },
      message: /^--service-cidr: .*invalid prefix length/,
    },
    {
      flags: { 'service-cidr': 'x' },
      message: /^--service-cidr: "x" is not an IP address or CIDR/,
    },
    { flags: { 'inbound-ports': '80,http' }, message: /^--inbound-ports: "http" is not a port/ },
    { flags: { 'local-exclude-ports': '*' }, message: /^--local-exclude-ports: / },
    { flags: { node: 'DB_1' }, message: /^--node: "DB_1" is not a name/ },
    { flags: { group: 'a/b' }, message: /^--group: "a\/b" is not a WorkloadGroup name/ },
    { flags: { 'mixer-address': 'mixer' }, message: /^--mixer-address: "mixer" is not IP:PORT/ },
    { flags: { 'token-ttl': '10s' }, message: /^--token-ttl: "10s" is shorter than 60s/ },
  ];
  for (const c of bad) {
    it(`refuses ${JSON.stringify(c.flags)}, naming the flag`, () => {
      assert.throws(
        () => parse(c.flags),
        (e: unknown) => e instanceof Error && c.message.test(e.message),
      );
    });
  }
});
