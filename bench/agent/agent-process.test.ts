import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { proxyNodeFlags } from './agent-process.ts';

describe("bench/agent: the proxy image's Node flags", () => {
  it('reads them from Dockerfile.proxy, quoted or not', () => {
    const image = proxyNodeFlags(
      readFileSync(new URL('../../Dockerfile.proxy', import.meta.url), 'utf8'),
    );
    assert.ok(image.length > 0 && image.every((f) => f.startsWith('--')), image.join(' '));
    assert.deepEqual(proxyNodeFlags('FROM x\nENV NODE_OPTIONS="--a=1  --b"\n'), ['--a=1', '--b']);
    assert.deepEqual(proxyNodeFlags('ENV NODE_OPTIONS=--a=2\n'), ['--a=2']);
    assert.throws(() => proxyNodeFlags('FROM x\n'), /no NODE_OPTIONS/);
  });
});
