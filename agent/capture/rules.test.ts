import assert from 'node:assert/strict';
import { parseCaptureFlags } from './options.ts';
import { captureRules, nextNatTable } from './rules.ts';

const outputTargets = (rules: string[]) =>
  rules
    .filter((r) => r.startsWith('-A ISTIO_OUTPUT'))
    .map((r) => r.replace(/ -m comment --comment "[^"]*"/, ''));

describe('capture rules', () => {
  it('orders outbound rules as docs/reference/injection.md says', () => {
    const o = parseCaptureFlags({ x: '10.96.0.1/32', o: '5432' });
    assert.deepEqual(outputTargets(captureRules(o)), [
      '-A ISTIO_OUTPUT -p tcp --dport 5432 -j RETURN',
      '-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -j ISTIO_REDIRECT',
      '-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN',
      '-A ISTIO_OUTPUT -m owner --gid-owner 1337 -j RETURN',
      '-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN',
      '-A ISTIO_OUTPUT -d 10.96.0.1/32 -j RETURN',
      '-A ISTIO_OUTPUT -j ISTIO_REDIRECT',
    ]);
  });

  it('captures only the included ranges, then returns', () => {
    const o = parseCaptureFlags({ i: '10.0.0.0/8,172.16.0.0/12', q: '443' });
    const out = outputTargets(captureRules(o));
    assert.deepEqual(out.slice(-4), [
      '-A ISTIO_OUTPUT -p tcp --dport 443 -j ISTIO_REDIRECT',
      '-A ISTIO_OUTPUT -d 10.0.0.0/8 -j ISTIO_REDIRECT',
      '-A ISTIO_OUTPUT -d 172.16.0.0/12 -j ISTIO_REDIRECT',
      '-A ISTIO_OUTPUT -j RETURN',
    ]);
  });

  it('captures only listed inbound ports when given', () => {
    const rules = captureRules(parseCaptureFlags({ b: '8080,9090', d: '9090' }));
    const inbound = rules.filter((r) => r.startsWith('-A ISTIO_INBOUND'));
    assert.equal(inbound.length, 1);
    assert.match(inbound[0] ?? '', /--dport 8080 .*-j ISTIO_IN_REDIRECT$/);
  });

  it('comments every rule, before the target', () => {
    for (const r of captureRules(parseCaptureFlags({}))) {
      assert.match(r, /-m comment --comment "istio-lite: [^"]+" -j /);
    }
  });

  it('replaces its own chains and keeps other rules', () => {
    const o = parseCaptureFlags({});
    const once = nextNatTable(
      '*nat\n:PREROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n-A PREROUTING -j DOCKER\nCOMMIT\n',
      o,
    );
    const twice = nextNatTable(once, o);
    assert.equal(twice, once);
    assert.match(once, /:DOCKER - \[0:0\]\n/);
    assert.match(once, /-A PREROUTING -j DOCKER\n/);
    const cleaned = nextNatTable(once, undefined);
    assert.doesNotMatch(cleaned, /ISTIO_/);
    assert.match(cleaned, /-A PREROUTING -j DOCKER\n/);
  });

  const bad: [Record<string, string>, RegExp][] = [
    [{ p: '0' }, /^-p: "0" is not a port/],
    [{ u: 'root' }, /^-u: "root" is not a uid/],
    [{ i: '10.0.0.0/8,*' }, /^-i: use "\*" alone/],
    [{ x: '*' }, /^-x: "\*" is not allowed here/],
    [{ b: '80,abc' }, /^-b: "abc" is not a port/],
    [{ m: 'TPROXY' }, /^-m: interception mode "TPROXY" is not supported/],
  ];
  for (const [flags, want] of bad) {
    it(`refuses ${JSON.stringify(flags)} naming the flag`, () => {
      assert.throws(
        () => parseCaptureFlags(flags),
        (e: unknown) => e instanceof Error && want.test(e.message),
      );
    });
  }
});
