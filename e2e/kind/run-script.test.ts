/**
 * The kind suite cannot run here (no Docker engine); what can be checked is: shellcheck on its
 * scripts, and the dry mode that prints every command it would run.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./run.sh', import.meta.url));
const root = fileURLToPath(new URL('../..', import.meta.url));

describe('e2e/kind/run.sh', () => {
  it('passes shellcheck, like every shell script of the project', () => {
    const scripts = [
      'e2e/kind/run.sh',
      'scripts/build-binaries.sh',
      'scripts/test-setup.sh',
      'docker/istio-lite',
      '.ci/run',
    ];
    const r = spawnSync('shellcheck', scripts, { cwd: root, encoding: 'utf8' });
    assert.ok(
      r.error === undefined,
      'shellcheck is not installed (npm test installs it: scripts/test-setup.sh)',
    );
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  it('prints every step in dry mode and runs none', () => {
    const out = execFileSync(script, ['--dry-run'], {
      encoding: 'utf8',
      env: { ...process.env, PATH: '/usr/bin:/bin' },
    });
    const steps = [
      /^\+ kind create cluster --config \S+\/e2e\/kind\/cluster\.yaml/m,
      /^\+ docker build -t istio-lite:0\.1\.0 -f \S+\/Dockerfile /m,
      /^\+ docker build -t istio-lite-proxy:0\.1\.0 -f \S+\/Dockerfile\.proxy /m,
      /^\+ kind load docker-image istio-lite:0\.1\.0 istio-lite-proxy:0\.1\.0/m,
      // kind gives no LoadBalancer an address, and Helm 3's --wait would wait for one.
      /^\+ \S*helm\S* install istio-lite \S+\/charts\/istio-lite .*--wait .*--set gateways\.ingress\.serviceType=NodePort/m,
      /^\+ kubectl .* label namespace demo istio-injection=enabled/m,
      /^\+ kubectl .* apply -n demo -f \S+\/examples\//m,
      // Waits on workloads that exist once applied, never on a selector the pods may not match yet.
      /^\+ kubectl .* rollout status -n demo deployment\/productpage-v1 /m,
      /^\+ kubectl .* rollout status -n demo statefulset\/mongodb /m,
      /^\+ kubectl .* run bystander -n plain/m,
    ];
    for (const s of steps) assert.match(out, s);
    assert.doesNotMatch(out, /kubectl .* wait .* -l /, 'no kubectl wait on a selector');
  });

  it('refuses an unknown argument with exit code 2', () => {
    const r = spawnSync(script, ['--bogus'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown argument '--bogus'/);
  });

  it('skips with a clear message where Docker is missing', () => {
    // A PATH with the shell's own tools but no docker, kind, kubectl or helm.
    const bin = mkdtempSync(join(tmpdir(), 'kind-path-'));
    for (const tool of ['bash', 'dirname', 'sed']) {
      const where = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
      symlinkSync(where, join(bin, tool));
    }
    const r = spawnSync(script, [], { encoding: 'utf8', env: { ...process.env, PATH: bin } });
    assert.equal(r.status, 0);
    assert.match(r.stderr, /skipped: 'docker' is not installed/);
  });
});
