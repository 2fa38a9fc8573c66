/**
 * lib/local-cluster and `istio-lite local` for real: up (API server, controller manager, scheduler
 * and kwok's nodes, or the API server alone), a kubeconfig client-node can use, down, two clusters
 * at once, recovery from a crashed run, and the CLI's exit codes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { CoreV1Api, VersionApi } from '@kubernetes/client-node';
import { main } from '../../cli/main.ts';
import { captureIo } from '../../cli/testing/capture-io.ts';
import { isIstioLiteError } from '../../lib/errors.ts';
import { loadKubeConfig } from '../../lib/kube/client.ts';
import { down, env, status, up } from '../../lib/local-cluster/cluster.ts';
import { isAlive } from '../../lib/local-cluster/processes.ts';
import { clusterPaths, readState } from '../../lib/local-cluster/state.ts';
import { projectRoot } from '../../lib/package-info.ts';
import { eventually } from './eventually.ts';
import { testClustersRoot } from './local-cluster.ts';

/** Addresses (hex, as in /proc/net/tcp) that listen on `port`; Linux only. */
function listenAddresses(port: number): string[] {
  const out: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state !== '0A' || local === undefined) continue; // 0A = LISTEN
      const [addr, hexPort] = local.split(':');
      if (addr !== undefined && Number.parseInt(hexPort ?? '', 16) === port) out.push(addr);
    }
  }
  return out;
}

async function namespaces(kubeconfig: string): Promise<string[]> {
  const core = loadKubeConfig(kubeconfig).makeApiClient(CoreV1Api);
  return (await core.listNamespace()).items.map((n) => n.metadata?.name ?? '');
}

const io = (cwd: string) => captureIo(cwd);

describe('local cluster', function () {
  let root: string;
  before(() => {
    mkdirSync(testClustersRoot, { recursive: true });
    root = mkdtempSync(join(testClustersRoot, `${process.pid}-lc-`));
  });
  after(async () => {
    for (const d of ['a', 'b', 'c', 'cli']) await down(join(root, d));
    rmSync(root, { recursive: true, force: true });
  });

  it('up starts a cluster on loopback that client-node can use; up again finds it; down removes it', async () => {
    const dir = join(root, 'a');
    const c = await up(dir);
    assert.equal(c.started, true);
    assert.match(c.server, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(isAlive(c.apiServer.pid) && isAlive(c.etcd.pid));
    assert.deepEqual(
      c.components.map((x) => x.name),
      ['kube-controller-manager', 'kube-scheduler', 'kwok'],
    );
    assert.ok(c.components.every((x) => isAlive(x.pid)));
    assert.equal(c.nodes, 3);

    const kc = loadKubeConfig(c.kubeconfig);
    const version = await kc.makeApiClient(VersionApi).getCode();
    assert.match(version.gitVersion, /^v1\.\d+\.\d+/);
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'made-by-test' } } });
    assert.ok((await namespaces(c.kubeconfig)).includes('made-by-test'));
    assert.deepEqual((await core.listNode()).items.map((n) => n.metadata?.name).sort(), [
      'kwok-node-0',
      'kwok-node-1',
      'kwok-node-2',
    ]);

    // Listening on 127.0.0.1 only (0100007F in /proc/net/tcp), where the OS lets us look.
    const state = readState(clusterPaths(dir))!;
    const ports = [c.apiServer.port, state.etcd.clientPort, state.etcd.peerPort];
    for (const port of [...ports, ...c.components.map((x) => x.port)]) {
      const addrs = listenAddresses(port);
      if (existsSync('/proc/net/tcp')) assert.deepEqual(addrs, ['0100007F'], `port ${port}`);
    }

    const again = await up(dir);
    assert.equal(again.started, false);
    assert.equal(again.apiServer.pid, c.apiServer.pid);
    assert.equal(env(dir), `KUBECONFIG=${c.kubeconfig}\n`);
    assert.ok(await status(dir));

    assert.equal(await down(dir), true);
    assert.equal(isAlive(c.apiServer.pid), false);
    assert.equal(isAlive(c.etcd.pid), false);
    assert.ok(
      c.components.every((x) => !isAlive(x.pid)),
      'the components are stopped too',
    );
    assert.equal(existsSync(dir), false);
    assert.equal(await down(dir), false, 'a second down has nothing to do');
    assert.throws(
      () => env(dir),
      (e) => isIstioLiteError(e),
    );
  });

  it('runs two clusters at once, each with its own ports and data', async () => {
    // One simulated, one an API server alone (nodes: 0).
    const [a, b] = await Promise.all([up(join(root, 'a')), up(join(root, 'b'), { nodes: 0 })]);
    assert.equal(b.components.length, 0);
    assert.deepEqual(
      (await loadKubeConfig(b.kubeconfig).makeApiClient(CoreV1Api).listNode()).items,
      [],
    );
    assert.notEqual(a.apiServer.port, b.apiServer.port);
    const core = loadKubeConfig(a.kubeconfig).makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'only-in-a' } } });
    assert.ok((await namespaces(a.kubeconfig)).includes('only-in-a'));
    assert.ok(!(await namespaces(b.kubeconfig)).includes('only-in-a'));
    await down(join(root, 'a'));
    assert.ok(isAlive(b.apiServer.pid), 'down of one leaves the other running');
    assert.ok((await namespaces(b.kubeconfig)).includes('default'));
    await down(join(root, 'b'));
  });

  it('recovers from a crashed run: dead pids, stale files, a stale lock, a reused pid', async () => {
    const dir = join(root, 'c');
    const paths = clusterPaths(dir);
    const first = await up(dir);
    // The API server and etcd die; the controller manager, scheduler and kwok live on, orphaned.
    process.kill(first.apiServer.pid, 'SIGKILL');
    process.kill(first.etcd.pid, 'SIGKILL');
    await eventually(() => {
      assert.ok(!isAlive(first.apiServer.pid) && !isAlive(first.etcd.pid));
    });
    assert.throws(() => env(dir), /not running any more/);
    // A crashed `up` also leaves its lock behind (pid 2^22+1 is above Linux's pid_max: dead).
    writeFileSync(paths.lock, '4194305\n');
    // And its old port is someone else's now.
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(first.apiServer.port, '127.0.0.1', r));

    try {
      const second = await up(dir);
      assert.equal(second.started, true);
      assert.notEqual(second.apiServer.pid, first.apiServer.pid);
      assert.notEqual(second.apiServer.port, first.apiServer.port);
      assert.ok((await namespaces(second.kubeconfig)).includes('default'));
      assert.ok(
        first.components.every((x) => !isAlive(x.pid)),
        'the orphans were stopped',
      );
    } finally {
      squatter.close();
    }
    await down(dir);

    // A state.json naming a live process that is not ours (this test's own pid) must never get
    // that process killed: it does not carry the marker argument.
    mkdirSync(dir, { recursive: true });
    const stale = {
      version: 1,
      createdAt: '',
      ready: true,
      etcd: { pid: process.pid, bin: 'etcd', args: [], marker: 'x', clientPort: 1, peerPort: 2 },
      apiServer: { pid: process.pid, bin: 'kube-apiserver', args: [], marker: 'y', port: 3 },
    };
    writeFileSync(paths.state, JSON.stringify(stale));
    assert.throws(() => env(dir), /not running any more/);
    assert.equal(await down(dir), true, 'removes the stale files');
    assert.ok(isAlive(process.pid));

    // Garbage in state.json reads as no state.
    mkdirSync(dir, { recursive: true });
    writeFileSync(paths.state, '{not json');
    assert.throws(() => env(dir), /no local cluster/);
    assert.equal(await down(dir), true);
  });

  it('istio-lite local: usage errors exit 2, env without a cluster exits 1', async () => {
    const cwd = join(root, 'cwd');
    mkdirSync(cwd, { recursive: true });
    const cases: { name: string; argv: string[]; code: number; stderr: RegExp }[] = [
      { name: 'no subcommand', argv: ['local'], code: 2, stderr: /missing subcommand/ },
      {
        name: 'unknown subcommand',
        argv: ['local', 'sideways'],
        code: 2,
        stderr: /unknown subcommand "sideways"/,
      },
      {
        name: 'extra argument',
        argv: ['local', 'up', 'now'],
        code: 2,
        stderr: /unexpected argument/,
      },
      { name: 'unknown flag', argv: ['local', 'up', '--fast'], code: 2, stderr: /--fast/ },
      {
        name: 'env, no cluster',
        argv: ['local', 'env', '--state-dir', 'none'],
        code: 1,
        stderr: /no local cluster/,
      },
      {
        name: 'down, no cluster',
        argv: ['local', 'down', '--state-dir', 'none'],
        code: 0,
        stderr: /no local cluster/,
      },
    ];
    for (const c of cases) {
      const t = io(cwd);
      assert.equal(await main(c.argv, t), c.code, c.name);
      assert.match(t.err(), c.stderr, c.name);
    }
  });

  it('istio-lite local up leaves the cluster running after the command exits; env and down', () => {
    const dir = join(root, 'cli');
    const cli = join(projectRoot, 'cli', 'main.ts');
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [cli, 'local', ...args, '--state-dir', dir], {
        encoding: 'utf8',
        timeout: 120_000,
      });
    const upRun = run('up');
    assert.equal(upRun.status, 0, upRun.stderr);
    assert.equal(upRun.stdout, `KUBECONFIG=${join(dir, 'kubeconfig')}\n`);
    const state = readState(clusterPaths(dir))!;
    assert.ok(isAlive(state.apiServer!.pid) && isAlive(state.etcd.pid));

    const envRun = run('env');
    assert.equal(envRun.status, 0, envRun.stderr);
    assert.equal(envRun.stdout, upRun.stdout);

    const downRun = run('down');
    assert.equal(downRun.status, 0, downRun.stderr);
    assert.equal(isAlive(state.apiServer!.pid), false);
    assert.equal(existsSync(dir), false);
  });
});
