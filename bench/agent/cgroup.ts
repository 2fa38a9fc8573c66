/**
 * A memory cgroup of its own for a benchmarked process, read the way the kubelet reads a
 * container's (cAdvisor's working set: usage minus inactive file pages, the figure `kubectl top`
 * shows and memory limits are held against). cgroup v1 (`memory` controller) or v2; needs root and
 * a writable hierarchy, else `create` returns undefined and the bench says so.
 *
 * A page is charged to the cgroup that first brought it into memory: the Node binary's pages that
 * other processes already read (other sidecars on the node, from the same image layer) are not
 * charged again. `privateCopyOf` makes a copy of a binary that no process has read yet (written
 * with O_DIRECT, so not even the copy itself leaves pages in the cache), for the first pod on a node.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CgroupMemory {
  /** Working set now, MB. */
  readonly workingSetMb: number;
  /** Highest usage since creation, MB (v1 max_usage_in_bytes, v2 memory.peak). */
  readonly peakMb: number;
  /** Anonymous memory, MB. */
  readonly anonMb: number;
  /** Page cache charged here, MB. */
  readonly fileMb: number;
}

export interface Cgroup {
  readonly dir: string;
  /** Argv prefix that runs a command inside this cgroup. */
  readonly wrap: (argv: readonly string[]) => string[];
  read(): CgroupMemory;
  remove(): void;
}

interface Layout {
  readonly dir: string;
  readonly v2: boolean;
}

function ownMemoryCgroup(): Layout | undefined {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
  const memberships = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  for (const line of mounts) {
    const [pre, post] = line.split(' - ');
    const fields = pre?.split(' ') ?? [];
    const [fsType, , options] = post?.split(' ') ?? [];
    const mountRoot = fields[3];
    const mountPoint = fields[4];
    if (mountRoot !== '/' || mountPoint === undefined) continue;
    if (fsType === 'cgroup' && options?.split(',').includes('memory')) {
      const path = memberships.find((m) => m.split(':')[1]?.split(',').includes('memory'));
      if (path !== undefined) return { dir: join(mountPoint, path.split(':')[2] ?? ''), v2: false };
    }
  }
  for (const line of mounts) {
    const [pre, post] = line.split(' - ');
    const fields = pre?.split(' ') ?? [];
    if (post?.split(' ')[0] !== 'cgroup2' || fields[3] !== '/' || fields[4] === undefined) continue;
    const path = memberships.find((m) => m.startsWith('0::'));
    if (path !== undefined) return { dir: join(fields[4], path.slice(3)), v2: true };
  }
  return undefined;
}

function stat(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of readFileSync(join(dir, 'memory.stat'), 'utf8').split('\n')) {
    const [k, v] = line.split(' ');
    if (k !== undefined && v !== undefined) out.set(k, Number(v));
  }
  return out;
}

const mb = (bytes: number) => bytes / 1024 / 1024;

export function createCgroup(name: string): Cgroup | undefined {
  const own = ownMemoryCgroup();
  if (own === undefined) return undefined;
  const dir = join(own.dir, name);
  try {
    mkdirSync(dir);
    const usageFile = own.v2 ? 'memory.current' : 'memory.usage_in_bytes';
    readFileSync(join(dir, usageFile), 'utf8');
    const procs = join(dir, 'cgroup.procs');
    writeFileSync(procs, ''); // writable (an empty write moves nobody)
    return {
      dir,
      wrap: (argv) => ['/bin/sh', '-c', `echo $$ > '${procs}' && exec "$@"`, 'cgroup', ...argv],
      read(): CgroupMemory {
        const s = stat(dir);
        const usage = Number(readFileSync(join(dir, usageFile), 'utf8'));
        const inactive = own.v2
          ? (s.get('inactive_file') ?? 0)
          : (s.get('total_inactive_file') ?? 0);
        const peak = Number(
          readFileSync(join(dir, own.v2 ? 'memory.peak' : 'memory.max_usage_in_bytes'), 'utf8'),
        );
        return {
          workingSetMb: mb(Math.max(0, usage - inactive)),
          peakMb: mb(peak),
          anonMb: mb(own.v2 ? (s.get('anon') ?? 0) : (s.get('total_rss') ?? 0)),
          fileMb: mb(own.v2 ? (s.get('file') ?? 0) : (s.get('total_cache') ?? 0)),
        };
      },
      remove() {
        try {
          rmdirSync(dir);
        } catch {
          // still has a process (killed but not reaped yet): the caller retries or leaves it
        }
      },
    };
  } catch {
    try {
      rmdirSync(dir);
    } catch {
      // never created
    }
    return undefined;
  }
}

/** A copy of `binary` at `target` whose pages are in no cache yet (dd with O_DIRECT both ways). */
export function privateCopyOf(binary: string, target: string): string {
  execFileSync('dd', [`if=${binary}`, `of=${target}`, 'bs=4M', 'iflag=direct', 'oflag=direct'], {
    stdio: 'ignore',
  });
  execFileSync('chmod', ['755', target]);
  return target;
}
