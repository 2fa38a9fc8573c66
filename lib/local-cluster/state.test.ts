import assert from 'node:assert/strict';
import { apiServerArgs, apiServerMarker, etcdArgs, etcdMarker } from './args.ts';
import { clusterPaths, parseState, type ClusterState } from './state.ts';

const paths = clusterPaths('/tmp/some/state');

const good: ClusterState = {
  version: 1,
  createdAt: '2026-01-01T00:00:00.000Z',
  ready: true,
  etcd: {
    pid: 10,
    bin: '/bin/etcd',
    args: ['--x'],
    marker: '--data-dir=/d',
    clientPort: 2379,
    peerPort: 2380,
  },
  apiServer: { pid: 11, bin: '/bin/kube-apiserver', args: [], marker: '--cert-dir=/d', port: 6443 },
  components: [
    { name: 'kwok', pid: 12, bin: '/bin/kwok', args: ['--x'], marker: '--config=/d/k', port: 6444 },
  ],
  nodes: 3,
};

describe('local cluster state.json', () => {
  it('round-trips what up writes', () => {
    assert.deepEqual(parseState(JSON.stringify(good)), good);
    const starting = { ...good, ready: false, apiServer: null, components: [], nodes: 0 };
    assert.deepEqual(parseState(JSON.stringify(starting)), starting);
  });

  it('reads a state written before there were components as a bare API server', () => {
    const older: Record<string, unknown> = { ...good };
    delete older['components'];
    delete older['nodes'];
    assert.deepEqual(parseState(JSON.stringify(older)), { ...good, components: [], nodes: 0 });
  });

  const bad: { name: string; text: string }[] = [
    { name: 'not JSON', text: '{' },
    { name: 'an array', text: '[]' },
    { name: 'another version', text: JSON.stringify({ ...good, version: 2 }) },
    { name: 'no ready flag', text: JSON.stringify({ ...good, ready: 'yes' }) },
    { name: 'a negative pid', text: JSON.stringify({ ...good, etcd: { ...good.etcd, pid: -1 } }) },
    {
      name: 'a fractional pid',
      text: JSON.stringify({ ...good, etcd: { ...good.etcd, pid: 1.5 } }),
    },
    { name: 'no marker', text: JSON.stringify({ ...good, etcd: { ...good.etcd, marker: '' } }) },
    {
      name: 'args not strings',
      text: JSON.stringify({ ...good, etcd: { ...good.etcd, args: [1] } }),
    },
    {
      name: 'a port out of range',
      text: JSON.stringify({ ...good, apiServer: { ...good.apiServer, port: 70000 } }),
    },
    {
      name: 'no peer port',
      text: JSON.stringify({ ...good, etcd: { ...good.etcd, peerPort: undefined } }),
    },
    {
      name: 'apiServer missing (not null)',
      text: JSON.stringify({ ...good, apiServer: undefined }),
    },
    {
      name: 'a component of unknown name',
      text: JSON.stringify({ ...good, components: [{ ...good.components[0], name: 'kubelet' }] }),
    },
    {
      name: 'a component without a port',
      text: JSON.stringify({ ...good, components: [{ ...good.components[0], port: 0 }] }),
    },
    { name: 'components not a list', text: JSON.stringify({ ...good, components: {} }) },
    { name: 'a negative node count', text: JSON.stringify({ ...good, nodes: -1 }) },
  ];
  for (const c of bad) {
    it(`reads ${c.name} as no state`, () => {
      assert.equal(parseState(c.text), undefined);
    });
  }

  it('puts every file under the state folder', () => {
    for (const [k, v] of Object.entries(paths) as [string, string][]) {
      assert.ok(v.startsWith('/tmp/some/state'), k);
    }
  });
});

describe('local cluster command lines', () => {
  const e = etcdArgs(paths, { clientPort: 1001, peerPort: 1002 });
  const a = apiServerArgs(paths, {
    port: 1003,
    etcdUrl: 'http://127.0.0.1:1001',
    controllers: false,
  });

  it('carry their marker as one exact argument naming the state folder', () => {
    assert.ok(e.includes(etcdMarker(paths)));
    assert.ok(a.includes(apiServerMarker(paths)));
    assert.ok(etcdMarker(paths).includes('/tmp/some/state/'));
    assert.ok(apiServerMarker(paths).includes('/tmp/some/state/'));
  });

  it('bind loopback only', () => {
    assert.ok(a.includes('--bind-address=127.0.0.1'));
    for (const arg of e.filter((x) => x.includes('-urls=')))
      assert.match(arg, /=http:\/\/127\.0\.0\.1:/);
  });

  it('have the flags the design asks for', () => {
    for (const want of [
      '--authorization-mode=RBAC',
      '--service-cluster-ip-range=10.0.0.0/16',
      '--allow-privileged=true',
      '--disable-admission-plugins=ServiceAccount',
      '--secure-port=1003',
      '--etcd-servers=http://127.0.0.1:1001',
    ]) {
      assert.ok(a.includes(want), want);
    }
    assert.ok(e.includes('--unsafe-no-fsync=true'));
  });

  it('keep the ServiceAccount admission plugin when a controller manager creates ServiceAccounts', () => {
    const full = apiServerArgs(paths, { port: 1003, etcdUrl: 'http://x', controllers: true });
    assert.ok(!full.some((x) => x.startsWith('--disable-admission-plugins')));
  });

  it('use --name=value only, so markers are exact argv entries', () => {
    for (const arg of [...e, ...a]) assert.match(arg, /^--[a-z-]+=/);
  });
});
