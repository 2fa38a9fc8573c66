/**
 * bench/agent's agents: `istio-lite agent sidecar|router` as one variant (entry, Node flags, a
 * private copy of Node for the first pod on a node, a Zipkin collector), with file certificates,
 * no Envoy, Mixer at the given address; on core 1 through the bench's pinned `node`.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { testLeaf, testRoot, writeCertFiles } from '../../agent/testing/workload-certs.ts';
import { freePort } from '../../lib/free-ports.ts';
import type { PinnedOptions } from '../pinned-process.ts';
import { privateCopyOf, type Cgroup } from './cgroup.ts';

/** The Node flags of a Dockerfile's `ENV NODE_OPTIONS=...` (the proxy image's), split on spaces. */
export function proxyNodeFlags(dockerfile: string): string[] {
  const m = /^ENV NODE_OPTIONS=(?:"([^"]*)"|(\S+))\s*$/m.exec(dockerfile);
  const flags = m?.[1] ?? m?.[2];
  if (flags === undefined) throw new Error('Dockerfile.proxy sets no NODE_OPTIONS');
  return flags.split(/\s+/).filter((f) => f !== '');
}

/** The bench's way to start a pinned Node process (its children are cleaned up by the bench). */
export type StartNode = (core: number, args: readonly string[], o?: PinnedOptions) => ChildProcess;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(100);
  }
}

export interface Variant {
  readonly name: string;
  readonly entry: string;
  readonly nodeFlags?: readonly string[];
  /** Run on a copy of the Node binary no other process has read (the first pod on a node). */
  readonly firstOnNode?: boolean;
  /** Put the ext_authz load through it (otherwise idle memory only). */
  readonly load: boolean;
  /** `router`: a gateway, loaded with the ingress gateway's checks. */
  readonly mode?: 'sidecar' | 'router';
  /** A Zipkin collector (host:port): spans at 1% (`--zipkinAddress`, `--traceSampling 1`). */
  readonly zipkin?: string;
}

/**
 * Starts `istio-lite agent` as variant `v` in `dir` (certificates from files, no Envoy); resolves
 * once it is healthy.
 */
export async function startAgent(
  node: StartNode,
  v: Variant,
  dir: string,
  mixer: string,
  cgroup: Cgroup | undefined,
): Promise<{ proc: ChildProcess; statusPort: number }> {
  const certs = join(dir, 'certs');
  mkdirSync(certs, { recursive: true });
  writeCertFiles(certs, testLeaf(testRoot(), 'default', 'productpage'));
  const statusPort = await freePort();
  const args = [
    ...(v.nodeFlags ?? []),
    v.entry,
    'agent',
    v.mode ?? 'sidecar',
    ...['--configPath', dir, '--certsDir', certs, '--startEnvoy', 'false'],
    ...['--discoveryAddress', `127.0.0.1:${await freePort()}`, '--mixerAddress', mixer],
    ...['--statusPort', String(statusPort), '--readinessPort', String(await freePort())],
    ...(v.zipkin === undefined ? [] : ['--zipkinAddress', v.zipkin, '--traceSampling', '1']),
  ];
  const proc = node(1, args, {
    env: {
      POD_NAME: 'productpage-1',
      POD_NAMESPACE: 'default',
      INSTANCE_IP: '127.0.0.1',
      SERVICE_ACCOUNT: 'productpage',
    },
    ...(v.firstOnNode ? { node: privateCopyOf(process.execPath, join(dir, 'node')) } : {}),
    ...(cgroup ? { wrap: cgroup.wrap } : {}),
  });
  await until(async () => (await fetch(`http://127.0.0.1:${statusPort}/healthz`)).status === 200);
  return { proc, statusPort };
}
