/**
 * bench/agent's capacity section (issue 19): the agent's ext_authz answers from its cache on one
 * core against a no-op ext_authz server on @grpc/grpc-js (./noop-authz.ts) on the same core, both
 * on a Unix socket, both with the proxy image's Node flags; the load is the raw HTTP/2 load
 * client (grpc-go-client -raw) on the other core (bench/grpc-capacity.ts). For each: the most checks a second (closed loop), the CPU
 * per check and memory under that load; for the agent, a latency curve at 25, 50 and 75% of its
 * own maximum. Mixer's own ext_authz (uncached, every check evaluated) is measured the same way,
 * so each server's steady-state memory and CPU stand beside its throughput. Targets: >= 3x the
 * no-op grpc-js server, p99 <= 1 ms at half the agent's maximum.
 *
 * Beside them the floor (./floor-authz.ts: our HTTP/2 transport, lib/h2, answering OK without reading the call),
 * with its own latency curve: what no server on that transport can beat on this core, so the agent's
 * figures and the targets can be read against it.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import {
  capacity,
  capacityLine,
  curveLines,
  latencyCurve,
  medianCurve,
  medianOf,
  type Capacity,
  type CurvePoint,
  type LoadSpec,
  type ServerUnderTest,
} from '../grpc-capacity.ts';
import { firstLine, stopChild } from '../pinned-process.ts';
import { authzRequests } from './workload.ts';

export interface CapacityOptions {
  readonly root: string;
  readonly seconds: number;
  readonly concurrency: number;
  readonly rounds: number;
  /** Node flags of the servers (the proxy image's). */
  readonly nodeFlags: readonly string[];
  /** Starts Node on the servers' core. */
  readonly node: (args: readonly string[]) => ChildProcess;
  /** Starts an agent (the proxy image as a sidecar); resolves once it is healthy. */
  readonly startAgent: (dir: string) => Promise<{ proc: ChildProcess; socket: string }>;
  /** The running Mixer (host:port) and its process. */
  readonly mixer: { readonly address: string; readonly pid: number };
  /** The core the load runs on. */
  readonly loadCore: number;
}

export interface CapacityResult {
  readonly floor: Capacity;
  readonly floorCurve: CurvePoint[];
  readonly noop: Capacity;
  readonly agent: Capacity;
  readonly agentCurve: CurvePoint[];
  readonly mixer: Capacity;
}

/** Measures `script` (a server taking its socket's path) serving on `socket`, then stops it. */
async function onSocketServer<T>(
  o: CapacityOptions,
  script: string,
  socket: string,
  measure: (server: ServerUnderTest) => Promise<T>,
): Promise<T> {
  const proc = o.node([...o.nodeFlags, new URL(script, import.meta.url).pathname, socket]);
  try {
    await firstLine(proc);
    return await measure({ target: `unix:${socket}`, pid: proc.pid ?? 0 });
  } finally {
    await stopChild(proc);
  }
}

export async function authzCapacity(o: CapacityOptions): Promise<CapacityResult> {
  const spec: LoadSpec = {
    method: '/envoy.service.auth.v3.Authorization/Check',
    requests: authzRequests('sidecar'),
    seconds: o.seconds,
    concurrency: o.concurrency,
    core: o.loadCore,
  };
  const runs: CapacityResult[] = [];
  for (let i = 0; i < o.rounds; i++) {
    const { floor, floorCurve } = await onSocketServer(
      o,
      './floor-authz.ts',
      join(o.root, `floor-${String(i)}.sock`),
      async (t) => {
        const max = await capacity(t, spec);
        return { floor: max, floorCurve: await latencyCurve(t, spec, max.perSecond) };
      },
    );
    const noop = await onSocketServer(
      o,
      './noop-authz.ts',
      join(o.root, `noop-${String(i)}.sock`),
      (t) => capacity(t, spec),
    );

    const agent = await o.startAgent(join(o.root, `capacity-${String(i)}`));
    const target = { target: `unix:${agent.socket}`, pid: agent.proc.pid ?? 0 };
    const max = await capacity(target, spec);
    const agentCurve = await latencyCurve(target, spec, max.perSecond);
    await stopChild(agent.proc);

    const mixer = await capacity({ target: o.mixer.address, pid: o.mixer.pid }, spec);
    runs.push({ floor, floorCurve, noop, agent: max, agentCurve, mixer });
  }
  return {
    floor: medianOf(runs.map((r) => r.floor)),
    floorCurve: medianCurve(runs.map((r) => r.floorCurve)),
    noop: medianOf(runs.map((r) => r.noop)),
    agent: medianOf(runs.map((r) => r.agent)),
    agentCurve: medianCurve(runs.map((r) => r.agentCurve)),
    mixer: medianOf(runs.map((r) => r.mixer)),
  };
}

export function capacityLines(r: CapacityResult, o: CapacityOptions): string[] {
  const ratio = r.agent.perSecond / r.noop.perSecond;
  const half = r.agentCurve.find((p) => p.fraction === 0.5)?.p99 ?? Infinity;
  const floorHalf = r.floorCurve.find((p) => p.fraction === 0.5)?.p99 ?? Infinity;
  return [
    `ext_authz capacity on one core (servers on one core with the proxy image's flags, the load client (grpc-go-client -raw) on the other, ${String(o.concurrency)} in flight; medians of ${String(o.rounds)} rounds)`,
    capacityLine('bare lib/h2 (the floor)', r.floor, 'checks'),
    capacityLine('no-op grpc-js ext_authz server', r.noop, 'checks'),
    capacityLine('the agent, from its cache', r.agent, 'checks'),
    capacityLine('Mixer, uncached', r.mixer, 'checks'),
    ...curveLines('bare lib/h2 (the floor)', r.floorCurve),
    ...curveLines('the agent, from its cache', r.agentCurve),
    `agent/no-op max checks/s ${ratio.toFixed(2)}x; targets (>= 3x, p99 <= 1 ms at 50% of its max): ${ratio >= 3 && half <= 1 ? 'met' : 'NOT met'} (p99 ${half.toFixed(2)} ms)`,
    `the floor: ${(r.floor.perSecond / r.noop.perSecond).toFixed(2)}x the no-op's checks/s, p99 ${floorHalf.toFixed(2)} ms at 50% of its own max; the agent ${(r.agent.perSecond / r.floor.perSecond).toFixed(2)}x the floor's checks/s, ${(r.agent.cpuMicrosPerCall / r.floor.cpuMicrosPerCall).toFixed(2)}x its CPU per check`,
  ];
}
