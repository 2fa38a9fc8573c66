import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { units, VmPaths } from './units.ts';

const byName = (name: string) => {
  const u = units.find((x) => x.name === name);
  assert.ok(u, name);
  return u.text;
};

// systemd-analyze comes with the systemd package, which npm test installs as root
// (scripts/test-setup.sh); a machine prepared by other means may lack it, and then only the
// parse check of the unit files is skipped (the test above still holds them to docs/vm.md).
const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

describe('VM systemd units', () => {
  it('are shown in docs/vm.md exactly as the bundle writes them', () => {
    const doc = readFileSync(new URL('../docs/vm.md', import.meta.url), 'utf8');
    for (const u of units)
      assert.ok(doc.includes(`\`${u.name}\`:\n\n\`\`\`ini\n${u.text}\`\`\``), u.name);
  });

  it('all read cluster.env and install into multi-user.target', () => {
    assert.deepEqual(
      units.map((u) => u.name),
      ['istio-lite-init.service', 'istio-lite-node-agent.service', 'istio-lite-sidecar.service'],
    );
    for (const u of units) {
      assert.match(u.text, /^EnvironmentFile=\/etc\/istio-lite\/cluster\.env$/m, u.name);
      assert.match(u.text, /^WantedBy=multi-user\.target$/m, u.name);
    }
  });

  it('capture is a oneshot that stays active and removes its rules on stop', () => {
    const t = byName('istio-lite-init.service');
    assert.match(t, /^Type=oneshot$/m);
    assert.match(t, /^RemainAfterExit=yes$/m);
    assert.match(
      t,
      /^ExecStart=\/usr\/local\/bin\/istio-lite init -i \$\{ISTIO_SERVICE_CIDR\} -b \$\{ISTIO_INBOUND_PORTS\} -d \$\{ISTIO_LOCAL_EXCLUDE_PORTS\} -u 1337 -g 1337$/m,
    );
    assert.match(t, /^ExecStop=\/usr\/local\/bin\/istio-lite init clean$/m);
    assert.doesNotMatch(t, /^User=/m, 'iptables needs root');
  });

  it('the node agent and the sidecar run as istio-proxy, the sidecar after the other two', () => {
    for (const name of ['istio-lite-node-agent.service', 'istio-lite-sidecar.service']) {
      assert.match(byName(name), /^User=istio-proxy$/m, name);
    }
    const s = byName('istio-lite-sidecar.service');
    assert.match(s, /^After=.*istio-lite-init\.service istio-lite-node-agent\.service$/m);
    assert.match(s, /^Requires=istio-lite-init\.service istio-lite-node-agent\.service$/m);
    assert.match(s, /--certsDir \/etc\/certs /);
    assert.match(byName('istio-lite-node-agent.service'), /--cert-dir \/etc\/certs$/m);
  });

  (hasSystemdAnalyze ? it : it.skip)('pass systemd-analyze verify', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vm-units-'));
    try {
      // verify insists that the binary exists: check everything else against one that does.
      for (const u of units) {
        writeFileSync(join(dir, u.name), u.text.replaceAll(VmPaths.binary, '/bin/true'));
      }
      const r = spawnSync(
        'systemd-analyze',
        ['verify', '--man=no', ...units.map((u) => join(dir, u.name))],
        { encoding: 'utf8' },
      );
      assert.equal(`${r.stdout}${r.stderr}`, '');
      assert.equal(r.status, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
