/**
 * bench/registries' Pilot, alone in a child process (./pilot-child.ts, with --expose-gc so its
 * memory is read after a GC): one JSON command a line in, one JSON answer a line out.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { leftovers } from '../cleanup.ts';

export class PilotChild {
  readonly proc: ChildProcess;
  private readonly replies: ((v: Record<string, unknown>) => void)[] = [];
  private readonly exited: Promise<void>;

  constructor(env: NodeJS.ProcessEnv, nodeFlags: readonly string[]) {
    const script = fileURLToPath(new URL('./pilot-child.ts', import.meta.url));
    this.proc = spawn(process.execPath, ['--expose-gc', ...nodeFlags, script], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const pid = this.proc.pid;
    if (pid !== undefined) leftovers.pids.add(pid);
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => {
        if (pid !== undefined) leftovers.pids.delete(pid);
        for (const r of this.replies.splice(0)) r({ exited: signal ?? code });
        resolve();
      });
    });
    if (this.proc.stdout === null) throw new Error('pilot child has no stdout');
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      this.replies.shift()?.(JSON.parse(line) as Record<string, unknown>);
    });
  }

  /** The next line the child prints; fails if it exits first. */
  async next(): Promise<Record<string, unknown>> {
    const v = await new Promise<Record<string, unknown>>((resolve) => this.replies.push(resolve));
    if ('exited' in v) throw new Error(`pilot child exited (${String(v['exited'])})`);
    return v;
  }

  ask(cmd: string): Promise<Record<string, unknown>> {
    const r = this.next();
    this.proc.stdin?.write(`${JSON.stringify({ cmd })}\n`);
    return r;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.stdin?.write(`${JSON.stringify({ cmd: 'exit' })}\n`);
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t);
  }
}
