/**
 * bench/agent's memory readings: a process's RSS with its anonymous and file-backed parts and its
 * USS (/proc), and, in a memory cgroup, the kubelet's working set (./cgroup.ts); one table row each.
 */
import { readFileSync } from 'node:fs';
import type { Cgroup, CgroupMemory } from './cgroup.ts';

export interface Memory {
  readonly rssMb: number;
  readonly anonMb: number;
  readonly fileMb: number;
  /** Unique set size: private pages, what exiting would give back. */
  readonly ussMb: number;
  readonly cgroup?: CgroupMemory;
}

export function memory(pid: number, cgroup?: Cgroup): Memory {
  const status = readFileSync(`/proc/${String(pid)}/status`, 'utf8');
  const rollup = readFileSync(`/proc/${String(pid)}/smaps_rollup`, 'utf8');
  const kb = (text: string, k: string) =>
    Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) / 1024;
  return {
    rssMb: kb(status, 'VmRSS'),
    anonMb: kb(status, 'RssAnon'),
    fileMb: kb(status, 'RssFile'),
    ussMb: kb(rollup, 'Private_Clean') + kb(rollup, 'Private_Dirty'),
    ...(cgroup ? { cgroup: cgroup.read() } : {}),
  };
}

const f1 = (n: number) => n.toFixed(1).padStart(6);

/** `name  RSS anon file USS  working peak cache` (n/a without a cgroup). */
export function memRow(name: string, m: Memory | undefined): string {
  if (m === undefined) return `${name.padEnd(56)} n/a`;
  const container = m.cgroup
    ? `${f1(m.cgroup.workingSetMb)} ${f1(m.cgroup.peakMb)} ${f1(m.cgroup.fileMb)}`
    : '   n/a';
  return `${name.padEnd(56)} ${f1(m.rssMb)} ${f1(m.anonMb)} ${f1(m.fileMb)} ${f1(m.ussMb)}   ${container}`;
}
