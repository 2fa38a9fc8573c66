import assert from 'node:assert/strict';
import { parsePairs, parsePorts, parseRegisterArgs } from './register-args.ts';

const base = { labels: [], annotations: [], serviceAccount: 'default', namespace: 'default' };

describe('register arguments', () => {
  it('names unnamed ports as Istio 0.2 did, uniquely', () => {
    assert.deepEqual(parsePorts(['80', '443', '3306', '8080', 'grpc:9000', '7000']), [
      { name: 'http', port: 80 },
      { name: 'https', port: 443 },
      { name: 'mysql', port: 3306 },
      { name: 'http-8080', port: 8080 },
      { name: 'grpc', port: 9000 },
      { name: 'tcp', port: 7000 },
    ]);
  });

  it('refuses bad and clashing ports, naming them', () => {
    assert.throws(() => parsePorts([]), /at least one port/);
    assert.throws(() => parsePorts(['http:0']), /"http:0".*not a port number/);
    assert.throws(() => parsePorts(['70000']), /not a port number/);
    assert.throws(() => parsePorts(['Bad_Name:80']), /not a port name/);
    assert.throws(() => parsePorts(['http:80', 'http:81']), /clash \(same name\)/);
    assert.throws(() => parsePorts(['http:80', 'web:80']), /clash \(same number\)/);
  });

  it('reads labels from repeated and comma-separated flags', () => {
    assert.deepEqual(parsePairs('--labels', ['version=v1,zone=a', 'team=x'], true), {
      version: 'v1',
      zone: 'a',
      team: 'x',
    });
    assert.throws(
      () => parsePairs('--labels', ['novalue'], true),
      /--labels: "novalue" is not key=value/,
    );
    assert.throws(() => parsePairs('--labels', ['v=bad value'], true), /not a valid label value/);
    assert.throws(() => parsePairs('--labels', ['a=1', 'a=2'], true), /given twice/);
    assert.deepEqual(parsePairs('--annotations', ['note=any text here'], false), {
      note: 'any text here',
    });
  });

  it('refuses a bad IP, service name, namespace or service account', () => {
    assert.throws(
      () => parseRegisterArgs({ ...base, positionals: ['reviews', '10.0.0.300', '80'] }),
      /"10\.0\.0\.300" is not an IP/,
    );
    assert.throws(
      () => parseRegisterArgs({ ...base, positionals: ['Reviews', '10.0.0.3', '80'] }),
      /service "Reviews"/,
    );
    assert.throws(
      () => parseRegisterArgs({ ...base, positionals: ['reviews'] }),
      /usage: register/,
    );
    assert.throws(
      () =>
        parseRegisterArgs({
          ...base,
          namespace: 'No_Such',
          positionals: ['reviews', '10.0.0.3', '80'],
        }),
      /--namespace/,
    );
    assert.throws(
      () =>
        parseRegisterArgs({
          ...base,
          serviceAccount: 'A B',
          positionals: ['reviews', '10.0.0.3', '80'],
        }),
      /--serviceaccount/,
    );
  });

  it('takes IPv6 addresses', () => {
    const r = parseRegisterArgs({ ...base, positionals: ['db', 'fd00::5', 'mysql:3306'] });
    assert.equal(r.ip, 'fd00::5');
  });
});
