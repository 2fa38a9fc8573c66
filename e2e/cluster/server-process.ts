/**
 * A server process for the cluster tests (Consul, Eureka): its output appended to a log file in the
 * server's temp dir (its tail goes into the error when it fails to start), killed with SIGKILL and
 * waited for (the state of a test server is thrown away; an outage is what the tests want), and
 * killed too when the test process exits without stopping it (mocha exits at the end of a run).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export class ServerProcess {
  readonly logFile: string;
  private readonly proc: ChildProcess;
  private readonly exited: Promise<void>;
  private exitStatus: string | undefined;

  constructor(command: string, args: readonly string[], logFile: string) {
    this.logFile = logFile;
    const fd = openSync(logFile, 'a');
    try {
      this.proc = spawn(command, args, { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    const killOnExit = (): void => {
      this.proc.kill('SIGKILL');
    };
    process.once('exit', killOnExit);
    this.exited = new Promise((resolve) => {
      const done = (why: string): void => {
        this.exitStatus ??= why;
        process.off('exit', killOnExit);
        resolve();
      };
      this.proc.once('exit', (code, signal) => {
        done(signal !== null ? `killed by ${signal}` : `exited ${String(code)}`);
      });
      this.proc.once('error', (e) => {
        done(`did not start: ${e.message}`);
      });
    });
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** Why it is gone (`exited 1`, `killed by SIGKILL`), or undefined while it runs. */
  get exit(): string | undefined {
    return this.exitStatus;
  }

  /** The last lines of its output, for an error message. */
  logTail(lines = 20): string {
    try {
      return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  async kill(): Promise<void> {
    if (this.exitStatus === undefined) this.proc.kill('SIGKILL');
    await this.exited;
  }
}

/** True when no process has `pid` any more (signal 0 probes without sending anything). */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
