import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  clusterEnvKeys,
  parseClusterEnv,
  renderClusterEnv,
  type ClusterEnv,
} from './cluster-env.ts';

const env: ClusterEnv = {
  ISTIO_SERVICE_CIDR: '10.96.0.0/12',
  ISTIO_INBOUND_PORTS: '*',
  ISTIO_LOCAL_EXCLUDE_PORTS: '22,15020,15021,15090',
  PILOT_ADDRESS: 'istio-pilot.istio-system.svc:15010',
  MIXER_ADDRESS: '',
  CA_ADDRESS: '[fd00::1]:8060',
  CA_SERVER_NAME: 'istio-ca.istio-system.svc',
  POD_NAMESPACE: 'legacy',
  SERVICE_ACCOUNT: 'db',
  TRUST_DOMAIN: 'cluster.local',
};

describe('cluster.env', () => {
  it('writes KEY=value lines in a fixed order, leaving out the optional ones not given', () => {
    assert.equal(
      renderClusterEnv(env, ['made for a test']),
      [
        '# made for a test',
        'ISTIO_SERVICE_CIDR=10.96.0.0/12',
        'ISTIO_INBOUND_PORTS=*',
        'ISTIO_LOCAL_EXCLUDE_PORTS=22,15020,15021,15090',
        'PILOT_ADDRESS=istio-pilot.istio-system.svc:15010',
        'MIXER_ADDRESS=',
        'CA_ADDRESS=[fd00::1]:8060',
        'CA_SERVER_NAME=istio-ca.istio-system.svc',
        'POD_NAMESPACE=legacy',
        'SERVICE_ACCOUNT=db',
        'TRUST_DOMAIN=cluster.local',
        '',
      ].join('\n'),
    );
    const full = renderClusterEnv({
      ...env,
      ISTIO_META_AUTO_REGISTER_GROUP: 'db',
      INSTANCE_IP: '10.0.0.7',
    });
    assert.match(full, /\nISTIO_META_AUTO_REGISTER_GROUP=db\nINSTANCE_IP=10\.0\.0\.7\n$/);
    assert.equal(clusterEnvKeys.length, 12);
  });

  it('quotes what is not plain, and refuses what neither systemd nor sh reads plainly', () => {
    assert.match(renderClusterEnv({ ...env, POD_NAMESPACE: 'a b' }), /\nPOD_NAMESPACE='a b'\n/);
    assert.throws(() => renderClusterEnv({ ...env, POD_NAMESPACE: "it's" }), /POD_NAMESPACE/);
  });

  it('reads back the same values, and sh reads them the same way', () => {
    const full: ClusterEnv = {
      ...env,
      POD_NAMESPACE: 'a b',
      ISTIO_META_AUTO_REGISTER_GROUP: 'db',
      INSTANCE_IP: 'fd00::7',
    };
    const text = renderClusterEnv(full, ['header']);
    const parsed = parseClusterEnv(text);
    assert.deepEqual(parsed, { ...full });
    const dir = mkdtempSync(join(tmpdir(), 'cluster-env-'));
    try {
      const file = join(dir, 'cluster.env');
      writeFileSync(file, text);
      // In an empty folder, so `*` could not glob to anything even if it were expanded.
      const script = `set -eu; . ${file}; for k in ${clusterEnvKeys.join(' ')}; do eval "printf '%s=%s\\n' \\"\\$k\\" \\"\\$$k\\""; done`;
      const out = execFileSync('sh', ['-c', script], { cwd: dir, encoding: 'utf8' });
      assert.deepEqual(
        parseClusterEnv(out.replace(/^POD_NAMESPACE=(.*)$/m, "POD_NAMESPACE='$1'")),
        {
          ...full,
        },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the line that is not KEY=value', () => {
    assert.throws(() => parseClusterEnv('A=1\nnot a line\n'), /cluster\.env line 2: not KEY=value/);
  });
});
