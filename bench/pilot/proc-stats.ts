/**
 * What a server process costs, read from /proc the same way whatever it runs (Node or Go): CPU
 * seconds (user + system, from /proc/PID/stat) and resident memory (VmRSS now, VmHWM the peak,
 * from /proc/PID/status). Linux only, as the bench's API server.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const ticksPerSecond = (() => {
  try {
    const v = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(v) && v > 0 ? v : 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds the process has used so far (user + system). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
  // Fields after the command (which may hold spaces) start after its closing parenthesis.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the command.
  return (Number(rest[11]) + Number(rest[12])) / ticksPerSecond;
}

export interface Memory {
  /** Resident set now, bytes. */
  readonly rss: number;
  /** The highest resident set so far, bytes. */
  readonly peak: number;
}

export function memory(pid: number): Memory {
  const status = readFileSync(`/proc/${String(pid)}/status`, 'utf8');
  const kb = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m?.[1] === undefined ? NaN : Number(m[1]) * 1024;
  };
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** A CPU clock on one process: seconds used since `start()`. */
export class CpuClock {
  private readonly pid: number;
  private from = 0;

  constructor(pid: number) {
    this.pid = pid;
  }

  start(): void {
    this.from = cpuSeconds(this.pid);
  }

  seconds(): number {
    return cpuSeconds(this.pid) - this.from;
  }
}
