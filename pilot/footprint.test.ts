/**
 * `istio-lite pilot` does not load @kubernetes/client-node (its generated models cost about 60 MB
 * of memory and a second of start-up): the command, Pilot and its kubeconfig reading run on
 * lib/kube/credentials.ts and lib/kube/http.ts. Nor express (about 0.2 s of start-up, which /ready
 * waits for): its HTTP port is lib/ops-server.ts on node:http. Checked in a fresh Node process that records
 * every module it resolves.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../lib/package-info.ts';

describe('what istio-lite pilot loads', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'istio-lite-footprint-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads a kubeconfig and starts no module of @kubernetes/client-node or express', () => {
    const hook = join(dir, 'hook.mjs');
    writeFileSync(
      hook,
      `import { registerHooks } from 'node:module';
const seen = [];
registerHooks({ resolve(s, c, next) { const r = next(s, c); seen.push(r.url); return r; } });
process.on('exit', () => { process.stdout.write(JSON.stringify(seen)); });
`,
    );
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      `apiVersion: v1
kind: Config
current-context: c
contexts: [{name: c, context: {cluster: c, user: u}}]
clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1', certificate-authority-data: ${Buffer.from('CA').toString('base64')}}}]
users: [{name: u, user: {token: t}}]
`,
    );
    const script = `
const { pilot } = await import(${JSON.stringify(join(projectRoot, 'cli/commands/pilot.ts'))});
const { loadKubeCredentials } = await import(${JSON.stringify(join(projectRoot, 'lib/kube/credentials.ts'))});
const { KubeHttp } = await import(${JSON.stringify(join(projectRoot, 'lib/kube/http.ts'))});
new KubeHttp(await loadKubeCredentials(${JSON.stringify(kubeconfig)}));
if (pilot.name !== 'pilot') process.exit(3);
`;
    const out = execFileSync(
      process.execPath,
      ['--import', hook, '--input-type=module', '-e', script],
      { encoding: 'utf8', cwd: dir },
    );
    const urls = JSON.parse(out) as string[];
    assert.ok(
      urls.some((u) => u.endsWith('/pilot/run.ts')),
      'Pilot itself was loaded',
    );
    assert.deepEqual(
      urls.filter((u) => /\/node_modules\/(@kubernetes\/client-node|express)\//.test(u)),
      [],
    );
  });
});
