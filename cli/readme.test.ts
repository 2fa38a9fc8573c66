/**
 * The README's `npx istio-lite …` commands, run as a person would right after `npm ci`: through
 * npx and the package's `bin`, from the repository's root, with no build step. Commands whose
 * input files are the reader's own (app.yaml, a cluster's ConfigMap) are illustrations and are
 * left out; at least `--help` and the kube-inject example must be there and must work.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const exec = promisify(execFile);

/** The `npx istio-lite` lines of the README's sh blocks, without their trailing comments. */
function readmeCommands(markdown: string): string[] {
  const out: string[] = [];
  for (const block of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of (block[1] ?? '').split('\n')) {
      const cmd = line.replace(/\s+#.*$/, '').trim();
      if (cmd.startsWith('npx istio-lite')) out.push(cmd);
    }
  }
  return out;
}

/** The files a command reads or writes (`-f`, `-o`, `--…File`), relative to the root. */
function fileArgs(cmd: string): { inputs: string[]; writes: boolean } {
  const words = cmd.split(/\s+/);
  const inputs: string[] = [];
  let writes = false;
  words.forEach((w, i) => {
    const next = words[i + 1];
    if (next === undefined) return;
    if (w === '-f' || w.endsWith('File')) inputs.push(next);
    if (w === '-o') writes = true;
  });
  return { inputs, writes };
}

describe("the README's npx commands", function () {
  this.timeout(120_000);
  const commands = readmeCommands(readFileSync(join(root, 'README.md'), 'utf8'));
  const runnable = commands.filter((c) => {
    const { inputs, writes } = fileArgs(c);
    return !writes && inputs.every((f) => existsSync(join(root, f)));
  });

  it('include --help and the kube-inject example', () => {
    assert.ok(runnable.includes('npx istio-lite --help'), commands.join('\n'));
    assert.ok(
      runnable.includes('npx istio-lite kube-inject -f examples/10-productpage.yaml'),
      commands.join('\n'),
    );
  });

  for (const cmd of runnable) {
    it(`${cmd} works as written`, async () => {
      const { stdout } = await exec('sh', ['-c', cmd], { cwd: root, maxBuffer: 16 << 20 });
      if (cmd.endsWith('--help')) assert.match(stdout, /^Usage: istio-lite <command>/m);
      if (cmd.includes('kube-inject')) {
        assert.match(stdout, /name: istio-proxy/);
        assert.match(stdout, /name: istio-init/);
      }
    });
  }
});
