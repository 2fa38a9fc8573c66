import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { maglevCapFlag } from './jit.ts';

const jit = fileURLToPath(new URL('./jit.ts', import.meta.url));

/** The tiers V8 compiled a hot function to, from --trace-opt, in a fresh Node. */
function tiersOf(capFirst: boolean, nodeFlags: readonly string[] = []): string[] {
  const script = `
    ${capFirst ? `(await import(${JSON.stringify(jit)})).capJitAtMaglev();` : ''}
    function hot(a) { let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * 3 + (i & 7); return s; }
    const a = Array.from({ length: 1000 }, (_, i) => i);
    let t = 0;
    for (let i = 0; i < 200000; i++) t += hot(a);
    process.stdout.write('done ' + String(t > 0) + '\\n');
  `;
  const out = execFileSync(
    process.execPath,
    [...nodeFlags, '--trace-opt', '--input-type=module', '-e', script],
    { encoding: 'utf8', maxBuffer: 16 << 20 },
  );
  assert.match(out, /done true/);
  const tiers = [...out.matchAll(/completed compiling .*<JSFunction hot [^>]*> \(target (\w+)\)/g)];
  return [...new Set(tiers.map((m) => m[1] ?? ''))];
}

describe('capJitAtMaglev', () => {
  it('keeps hot code at Maglev (TurboFan without it)', function () {
    this.timeout(60_000);
    const uncapped = tiersOf(false);
    assert.ok(uncapped.includes('TURBOFAN_JS'), `tiers without the cap: ${uncapped.join(', ')}`);
    const capped = tiersOf(true);
    assert.ok(capped.includes('MAGLEV'), `tiers with the cap: ${capped.join(', ')}`);
    assert.ok(!capped.some((t) => t.startsWith('TURBOFAN')), `tiers: ${capped.join(', ')}`);
  });

  it('leaves the tier a node --max-opt on the command line chose', function () {
    this.timeout(60_000);
    assert.ok(tiersOf(true, ['--max-opt=3']).includes('TURBOFAN_JS'));
    assert.ok(tiersOf(true, ['--turbofan']).includes('TURBOFAN_JS'));
    assert.equal(maglevCapFlag(['--max-opt=3']), undefined);
    assert.equal(maglevCapFlag(['--max-opt', '3']), undefined);
    assert.equal(maglevCapFlag(['--no-turbofan']), undefined);
    assert.equal(maglevCapFlag(['--max-semi-space-size=16']), '--no-turbofan');
    assert.equal(maglevCapFlag(['--max-optimized-bytecode-size=1']), '--no-turbofan');
    assert.equal(maglevCapFlag([]), '--no-turbofan');
  });
});
