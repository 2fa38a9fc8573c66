/**
 * Taking a local cluster down (./cluster.ts): this folder's processes, found by their recorded pid
 * when it still runs our command line and by the marker in their command line, stopped clients
 * first, then kube-apiserver, then etcd; then the cluster's files.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { apiServerMarker, etcdMarker } from './args.ts';
import { componentMarker } from './component-args.ts';
import { findProcessesWith, isOurProcess, stopProcess } from './processes.ts';
import {
  componentNames,
  ownedEntries,
  type ClusterPaths,
  type ClusterState,
  type ProcessRecord,
} from './state.ts';

/** The recorded pid when it still runs our command line, plus any process found by marker. */
function ours(rec: ProcessRecord | null | undefined, marker: string): number[] {
  const pids = new Set(findProcessesWith([marker]));
  if (rec && isOurProcess(rec.pid, rec.marker)) pids.add(rec.pid);
  return [...pids];
}

/**
 * Stops every process of this folder's cluster (from state.json when its pid still runs our
 * command line, plus any process found by marker) and removes the cluster's files. True when
 * anything was stopped or removed.
 */
export async function cleanup(
  paths: ClusterPaths,
  state: ClusterState | undefined,
): Promise<boolean> {
  // The API server's clients first, then kube-apiserver: it exits in about a second, but waits
  // for etcd (and so for SIGKILL) when etcd goes away under it.
  const componentPids = componentNames.flatMap((name) =>
    ours(
      state?.components.find((c) => c.name === name),
      componentMarker(paths, name),
    ),
  );
  const apiPids = ours(state?.apiServer, apiServerMarker(paths));
  const etcdPids = ours(state?.etcd, etcdMarker(paths));
  await Promise.all(componentPids.map((pid) => stopProcess(pid, 5000)));
  await Promise.all(apiPids.map((pid) => stopProcess(pid, 5000)));
  await Promise.all(etcdPids.map((pid) => stopProcess(pid, 5000)));
  let removed = componentPids.length + apiPids.length + etcdPids.length > 0;
  for (const entry of ownedEntries) {
    const p = join(paths.dir, entry);
    if (existsSync(p)) {
      rmSync(p, { recursive: true, force: true });
      removed = true;
    }
  }
  return removed;
}
