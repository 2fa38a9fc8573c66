/**
 * One endpoint change reaching every client while pods churn. A churner scales random Deployments
 * of the churn set one up and back down (`rate` scale requests a second) for the whole
 * measurement. Meanwhile, on probe Deployments, one at a time: scale up by one (a new pod, a new
 * endpoint), then back down (the ReplicaSet controller deletes some pod of it, its endpoint goes).
 * The clock of a change starts when the EndpointSlice shows the address ready (or no longer
 * ready), as the bench's own watch sees it, and stops when the last client holds the change;
 * "from the request" starts at the scale request instead (the controllers, scheduler, simulated
 * kubelet and webhook included).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import type { BenchClients } from './clients.ts';
import type { PodTracker, SliceTracker } from './trackers.ts';
import { clusterOf, scale, serviceName, type MeshShape } from './workloads.ts';

export interface ChangeFigures {
  /** Slice shows it → the last client holds it, ms, one per change (Infinity: timed out). */
  readonly sliceToAll: number[];
  /** Scale request → the last client holds it, ms. */
  readonly requestToAll: number[];
  readonly churnRequests: number;
}

const timeoutMs = 60_000;

async function until<T>(f: () => T | undefined, ms: number): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) return undefined;
    await sleep(20);
  }
}

interface Ctx {
  readonly kc: KubeConfig;
  readonly shape: MeshShape;
  readonly replicas: number;
  readonly pods: PodTracker;
  readonly slices: SliceTracker;
  readonly clients: BenchClients;
}

/** One change on service `i`: up (a pod more) or down (back to `replicas`). */
async function change(c: Ctx, i: number, up: boolean): Promise<[number, number]> {
  const app = serviceName(i);
  c.clients.record(clusterOf(i, c.shape));
  const before = c.pods.ips(app);
  const goneBefore = c.pods.gone.length;
  const requestAt = Date.now();
  await scale(c.kc, c.shape, i, up ? c.replicas + 1 : c.replicas);
  const ip = await until(() => {
    if (up) return [...c.pods.ips(app)].find((a) => !before.has(a));
    return c.pods.gone.slice(goneBefore).find((g) => g.app === app && g.ip !== '')?.ip;
  }, timeoutMs);
  if (ip === undefined) return [Infinity, Infinity];
  const sliceAt = await until(() => {
    const at = (up ? c.slices.readyAt : c.slices.unreadyAt).get(ip);
    return at !== undefined && at >= requestAt ? at : undefined;
  }, timeoutMs);
  const allAt = await until(() => {
    const seen = c.clients.firstSeen(ip, up);
    const got = seen.filter((t): t is number => t !== undefined);
    return got.length === seen.length ? Math.max(...got) : undefined;
  }, timeoutMs);
  if (allAt === undefined) return [Infinity, Infinity];
  return [sliceAt === undefined ? NaN : allAt - sliceAt, allAt - requestAt];
}

export async function measureChanges(
  c: Ctx,
  changes: number,
  rate: number,
  log: (line: string) => void,
): Promise<ChangeFigures> {
  // Every tenth service is a probe; the others churn.
  const probes = Array.from({ length: Math.ceil(c.shape.services / 10) }, (_, k) => k * 10);
  const churnable = Array.from({ length: c.shape.services }, (_, i) => i).filter(
    (i) => i % 10 !== 0,
  );
  const raised = new Set<number>();
  let churnRequests = 0;
  const state = { stop: rate <= 0 };
  const churner = (async () => {
    while (!state.stop) {
      const i = churnable[Math.floor(Math.random() * churnable.length)] ?? 1;
      const up = !raised.has(i);
      if (up) raised.add(i);
      else raised.delete(i);
      churnRequests++;
      await scale(c.kc, c.shape, i, up ? c.replicas + 1 : c.replicas).catch(() => undefined);
      await sleep(1000 / rate);
    }
  })();
  const sliceToAll: number[] = [];
  const requestToAll: number[] = [];
  /** Probes scaled up and not yet back down (an odd --changes ends on an up). */
  const probesUp = new Set<number>();
  try {
    for (let k = 0; k < changes; k++) {
      const i = probes[Math.floor(k / 2) % probes.length] ?? 0;
      const up = k % 2 === 0;
      if (up) probesUp.add(i);
      else probesUp.delete(i);
      const [slice, request] = await change(c, i, up);
      sliceToAll.push(slice);
      requestToAll.push(request);
      if ((k + 1) % 10 === 0) log(`  ${String(k + 1)} of ${String(changes)} changes measured`);
    }
  } finally {
    state.stop = true;
    await churner;
    await Promise.all([...raised, ...probesUp].map((i) => scale(c.kc, c.shape, i, c.replicas)));
  }
  return { sliceToAll, requestToAll, churnRequests };
}
