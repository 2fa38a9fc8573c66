/**
 * `istio-lite init` against the real iptables in real network namespaces: two hosts joined by a
 * veth pair, the pod in `a` (10.77.0.1) and a remote host in `b` (10.77.0.2 and .3). Needs root,
 * `ip` (iproute2) and `iptables` (Debian's packages; npm test installs them: scripts/test-setup.sh).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const peer = fileURLToPath(new URL('./capture-peer.py', import.meta.url));
const main = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));
const id = randomBytes(3).toString('hex');
const A = `il-a-${id}`;
const B = `il-b-${id}`;

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
function inNs(ns: string, cmd: string, args: string[]): string {
  return sh('ip', ['netns', 'exec', ns, cmd, ...args]);
}
function connect(ns: string, ip: string, port: number, uid?: number): string {
  return inNs(ns, 'python3', [
    peer,
    'connect',
    ip,
    String(port),
    ...(uid === undefined ? [] : [String(uid)]),
  ]).trim();
}
function init(args: string[]): string {
  return inNs(A, process.execPath, [main, 'init', ...args]);
}
function natRules(): string[] {
  return inNs(A, 'iptables-save', ['-t', 'nat'])
    .split('\n')
    .filter((l) => l.startsWith('-A'));
}

function canRun(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  try {
    sh('iptables', ['--version']);
    sh('ip', ['-V']);
  } catch {
    return 'needs iptables and iproute2 (apt-get install iptables iproute2)';
  }
  return undefined;
}

describe('istio-lite init in a real network namespace', function () {
  this.timeout(30_000);
  const servers: ChildProcess[] = [];

  before(async function () {
    const why = canRun();
    // Without root this suite cannot run (network namespaces); npm test as root, as CI runs it, does.
    if (why !== undefined) this.skip();
    sh('ip', ['netns', 'add', A]);
    sh('ip', ['netns', 'add', B]);
    sh('ip', ['link', 'add', `va${id}`, 'type', 'veth', 'peer', 'name', `vb${id}`]);
    sh('ip', ['link', 'set', `va${id}`, 'netns', A]);
    sh('ip', ['link', 'set', `vb${id}`, 'netns', B]);
    inNs(A, 'ip', ['addr', 'add', '10.77.0.1/24', 'dev', `va${id}`]);
    inNs(B, 'ip', ['addr', 'add', '10.77.0.2/24', 'dev', `vb${id}`]);
    inNs(B, 'ip', ['addr', 'add', '10.77.0.3/24', 'dev', `vb${id}`]);
    for (const [ns, dev] of [
      [A, `va${id}`],
      [B, `vb${id}`],
    ] as const) {
      inNs(ns, 'ip', ['link', 'set', 'lo', 'up']);
      inNs(ns, 'ip', ['link', 'set', dev, 'up']);
    }
    const start = (ns: string, args: string[]) => {
      const p = spawn('ip', ['netns', 'exec', ns, 'python3', peer, ...args], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      servers.push(p);
      return new Promise<void>((resolve) =>
        p.stdout.once('data', () => {
          resolve();
        }),
      );
    };
    await Promise.all([
      start(B, ['serve', '8080', 'remote']),
      start(A, ['capture', '15001']),
      start(A, ['capture', '15006']),
      start(A, ['serve', '9080', 'app']),
      start(A, ['serve', '15020', 'status']),
    ]);
  });

  after(() => {
    for (const s of servers) s.kill('SIGKILL');
    for (const ns of [A, B]) {
      try {
        sh('ip', ['netns', 'del', ns]);
      } catch {
        // not created
      }
    }
  });

  it('reaches the remote host directly before capture', () => {
    assert.equal(connect(A, '10.77.0.2', 8080), 'remote');
  });

  it('refuses bad flags before writing any rule', () => {
    assert.throws(
      () => init(['-x', '10.0.0.0/99']),
      /-x: "10\.0\.0\.0\/99" has an invalid prefix length/,
    );
    assert.deepEqual(natRules(), []);
  });

  it('captures outbound to 15001 with the original destination recoverable', () => {
    init(['-x', '10.77.0.3/32', '-d', '15020']);
    assert.equal(connect(A, '10.77.0.2', 8080), 'captured:15001:10.77.0.2:8080');
  });

  it('lets the proxy (uid 1337) through', () => {
    assert.equal(connect(A, '10.77.0.2', 8080, 1337), 'remote');
  });

  it('lets excluded CIDRs through', () => {
    assert.equal(connect(A, '10.77.0.3', 8080), 'remote');
  });

  it('captures inbound to an application port on 15006', () => {
    assert.equal(connect(B, '10.77.0.1', 9080), 'captured:15006:10.77.0.1:9080');
  });

  it('leaves excluded inbound ports alone', () => {
    assert.equal(connect(B, '10.77.0.1', 15020), 'status');
  });

  it('comments every rule, and re-running replaces its own rules instead of adding more', () => {
    const before = natRules();
    assert.ok(before.length > 5);
    assert.ok(
      before.every((l) => l.includes('istio-lite:')),
      before.join('\n'),
    );
    init(['-x', '10.77.0.3/32', '-d', '15020']);
    assert.deepEqual(natRules(), before);
  });

  it('keeps rules of other tools and removes only its own with `init clean`', () => {
    inNs(A, 'iptables', ['-t', 'nat', '-A', 'POSTROUTING', '-d', '192.0.2.1/32', '-j', 'RETURN']);
    init(['-x', '10.77.0.3/32']);
    assert.ok(natRules().some((l) => l.includes('192.0.2.1/32')));
    init(['clean']);
    assert.deepEqual(natRules(), ['-A POSTROUTING -d 192.0.2.1/32 -j RETURN']);
    assert.equal(connect(A, '10.77.0.2', 8080), 'remote');
  });
});
