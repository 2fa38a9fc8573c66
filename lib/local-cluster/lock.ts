/**
 * A lock file holding the owner's pid, so two `up`s on one state folder (or two builds of one
 * binary) run one after the other. A lock whose pid is dead is stale (a crashed run) and is taken
 * over; a live one is waited for, up to a timeout.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, IstioLiteError } from '../errors.ts';
import { isAlive } from './processes.ts';

export interface LockOptions {
  /** How long to wait for a live owner (default 60 s). */
  readonly timeoutMs?: number;
}

/** Locks this process holds: a lock file naming our pid but not in here is from an earlier run. */
const held = new Set<string>();

function errnoCode(e: unknown): string | undefined {
  return e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

function tryAcquire(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (e) {
    if (errnoCode(e) === 'EEXIST') return false;
    throw new IstioLiteError(ErrorCode.External, `cannot create lock ${path}`, { cause: e });
  }
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** The pid in a lock file; undefined when the file is gone or unreadable. */
function ownerOf(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return Infinity;
  }
}

export async function withLock<R>(
  path: string,
  options: LockOptions,
  fn: () => Promise<R>,
): Promise<R> {
  mkdirSync(dirname(path), { recursive: true });
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let waited = false;
  for (;;) {
    if (tryAcquire(path)) break;
    const owner = ownerOf(path);
    const stale =
      owner === undefined
        ? ageMs(path) > 2000 // being written (empty for a moment), or garbage
        : (owner === process.pid && !held.has(path)) || !isAlive(owner);
    if (stale) {
      // Its owner died, or an earlier process had our pid (containers reuse pids).
      rmSync(path, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new IstioLiteError(
        ErrorCode.External,
        `${path} is held by pid ${owner}${waited ? ' (waited for it)' : ''}; remove it if that process is not istio-lite`,
      );
    }
    waited = true;
    await sleep(200);
  }
  held.add(path);
  try {
    return await fn();
  } finally {
    held.delete(path);
    rmSync(path, { force: true });
  }
}
