/**
 * A service that cannot listen ends: the real CLI of each server, with one of its ports already
 * held by another process, exits 1 within seconds, its error naming the address and why. Nothing
 * keeps it alive (informers, timers, the other server), since a failed start stops what it began
 * (lib/lifecycle.ts), and the CLI does not call process.exit.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { holdPort } from '../../lib/testing/held-port.ts';
import { useLocalCluster } from './local-cluster.ts';

const cli = join(import.meta.dirname, '../../cli/main.ts');
const exitWithinMs = 15_000;

interface Case {
  readonly command: string;
  /** The flag given the taken port. */
  readonly flag: string;
  /** Every other flag: loopback, other ports 0, the suite's namespace. */
  readonly args: (namespace: string) => string[];
}

const cases: readonly Case[] = [
  ...['--port', '--httpPort'].map((flag) => ({
    command: 'pilot',
    flag,
    args: () => ['--host', '127.0.0.1', '--port', '0', '--httpPort', '0'],
  })),
  ...['--port', '--monitoringPort'].map((flag) => ({
    command: 'mixer',
    flag,
    args: (ns: string) => [
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--monitoringPort',
      '0',
      '--configDefaultNamespace',
      ns,
    ],
  })),
  ...['--grpc-port', '--monitoring-port'].map((flag) => ({
    command: 'ca',
    flag,
    args: (ns: string) => [
      '--namespace',
      ns,
      '--listened-namespace',
      ns,
      '--grpc-host',
      '127.0.0.1',
      '--grpc-port',
      '0',
      '--monitoring-host',
      '127.0.0.1',
      '--monitoring-port',
      '0',
    ],
  })),
  {
    command: 'webhook',
    flag: '--port',
    args: (ns: string) => ['--host', '127.0.0.1', '--port', '0', '--namespace', ns],
  },
];

/** `args` with `flag`'s value replaced by `value` (a later flag would win anyway; keep one). */
function withFlag(args: readonly string[], flag: string, value: string): string[] {
  const i = args.indexOf(flag);
  return i === -1 ? [...args, flag, value] : [...args.slice(0, i + 1), value, ...args.slice(i + 2)];
}

describe('a service whose port is taken exits 1, naming the address', function () {
  this.timeout(60_000);
  const env = useLocalCluster({ namespacePrefix: 'port-taken' });
  const held = holdPort();

  for (const c of cases) {
    it(`istio-lite ${c.command} ${c.flag} <taken>`, async () => {
      const args = [
        cli,
        c.command,
        '--kubeconfig',
        env.kubeconfig,
        ...withFlag(c.args(env.namespace), c.flag, String(held.port)),
      ];
      const p = spawn(process.execPath, args, {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, LOG_LEVEL: 'info' },
      });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = once(p, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      let killed = false;
      const timer = setTimeout(() => {
        killed = true;
        p.kill('SIGKILL');
      }, exitWithinMs);
      const [code] = await exited;
      clearTimeout(timer);
      const output = `stderr:\n${stderr}\nstdout:\n${stdout}`;
      assert.equal(killed, false, `still running after ${String(exitWithinMs)} ms\n${output}`);
      assert.equal(code, 1, output);
      assert.ok(stderr.includes(`127.0.0.1:${String(held.port)}`), output);
      assert.match(stderr, /address already in use/, output);
    });
  }
});
