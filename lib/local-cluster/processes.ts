/**
 * The processes of a local cluster: started detached (their own process group, output to a log
 * file, surviving the command that started them), recognised later by a marker argument that
 * names their state folder (so a reused pid is never mistaken for ours), and stopped with SIGTERM,
 * then SIGKILL after a grace period.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

function errnoCode(e: unknown): string | undefined {
  return e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

/**
 * Whether `pid` is a running process. A zombie (exited, not yet reaped) counts as dead once all
 * its threads are gone: a Go program's main thread turns zombie while the others still close its
 * sockets, so "dead" here means its ports are free.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return errnoCode(e) === 'EPERM';
  }
  try {
    // /proc/PID/stat: "pid (comm) S ..."; comm may hold spaces and parentheses: split at the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' || readdirSync(`/proc/${pid}/task`).length > 1;
  } catch (e) {
    // Gone between the two looks, or no /proc (macOS), where kill(0) is all we know.
    return errnoCode(e) !== 'ENOENT' || !existsProc();
  }
}

/** The argv of a running process; undefined when it is gone or cannot be read. */
export function commandLine(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((s) => s !== '');
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT' || existsProc()) return undefined;
  }
  const r = spawnSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  return r.stdout.trim().split(/\s+/);
}

function existsProc(): boolean {
  try {
    readdirSync('/proc/self');
    return true;
  } catch {
    return false;
  }
}

/** Whether `pid` is alive and was started with the argument `marker`. */
export function isOurProcess(pid: number, marker: string): boolean {
  if (!isAlive(pid)) return false;
  return commandLine(pid)?.includes(marker) ?? false;
}

/**
 * Live processes started with any of `markers` as an argument, found by scanning /proc (Linux;
 * elsewhere the empty list). Finds what a crash left behind before its pids were recorded.
 */
export function findProcessesWith(markers: readonly string[]): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    const argv = commandLine(pid);
    if (argv?.some((a) => markers.includes(a)) === true && isAlive(pid)) found.push(pid);
  }
  return found;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig); // the whole group: the process was started as a group leader
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(25);
  }
  return true;
}

/**
 * Stops `pid` (and its process group): SIGTERM, then SIGKILL after `graceMs`. Resolves once it
 * is gone; false when even SIGKILL did not end it within 5 s.
 */
export async function stopProcess(pid: number, graceMs = 10_000): Promise<boolean> {
  if (!isAlive(pid)) return true;
  signal(pid, 'SIGTERM');
  if (await waitForExit(pid, graceMs)) return true;
  signal(pid, 'SIGKILL');
  return waitForExit(pid, 5000);
}

/**
 * Starts `bin` detached (own process group, stdin closed, stdout and stderr appended to
 * `logPath`) so it keeps running after this process exits. The ChildProcess is returned for
 * watching an early exit while waiting for readiness; it does not keep this process alive.
 */
export function spawnDetached(
  bin: string,
  args: readonly string[],
  logPath: string,
  env: NodeJS.ProcessEnv = process.env,
): ChildProcess {
  const fd = openSync(logPath, 'a', 0o600);
  try {
    const child = spawn(bin, args, { detached: true, stdio: ['ignore', fd, fd], env });
    child.unref();
    return child;
  } finally {
    closeSync(fd);
  }
}
