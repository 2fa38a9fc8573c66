/**
 * bench/agent: Envoy's ext_authz checks per second and p99 through the agent with a warm check
 * cache, versus the same checks sent straight to Mixer's ext_authz endpoint, in the same run; and
 * the agent's memory (RSS, with its anonymous part) idle and under load, next to a bare Node
 * process. The agent runs as `istio-lite agent sidecar` (and, for memory, alone without the CLI),
 * no Envoy, certificates from files; the real Mixer runs in its own process with the REFERENCE
 * rules. Servers (agent, Mixer) on core 1, the load generator on core 0, when taskset exists.
 * Target: <= 40 MB RSS idle.
 *
 *   npm run bench:agent [-- --seconds N --concurrency C]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { testLeaf, testRoot, writeCertFiles } from '../../agent/testing/workload-certs.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '32' },
  },
});

const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return true;
  } catch {
    return false;
  }
})();

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const children: ChildProcess[] = [];

function node(core: number, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const cmd = hasTaskset ? 'taskset' : process.execPath;
  const argv = hasTaskset ? ['-c', String(core), process.execPath, ...args] : args;
  const p = spawn(cmd, argv, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
  });
  children.push(p);
  return p;
}

async function firstLine(p: ChildProcess): Promise<string> {
  let out = '';
  while (!out.includes('\n')) {
    const [d] = (await Promise.race([
      once(p.stdout ?? p, 'data'),
      once(p, 'exit').then(() => {
        throw new Error(`child exited early: ${out}`);
      }),
    ])) as [Buffer];
    out += d.toString();
  }
  return out.slice(0, out.indexOf('\n'));
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) =>
    s.close(() => {
      r();
    }),
  );
  return port;
}

interface Memory {
  readonly rssMb: number;
  readonly anonMb: number;
  readonly fileMb: number;
}

function memory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rssMb: kb('VmRSS') / 1024, anonMb: kb('RssAnon') / 1024, fileMb: kb('RssFile') / 1024 };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(100);
  }
}

interface LoadResult {
  readonly checks: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  readonly denied: number;
}

async function load(
  target: string,
  sampleRssOf?: number,
): Promise<{ result: LoadResult; peak: Memory | undefined }> {
  const p = node(0, [here('./load.ts'), target, values.seconds, values.concurrency]);
  let peak: Memory | undefined;
  const timer =
    sampleRssOf === undefined
      ? undefined
      : setInterval(() => {
          const m = memory(sampleRssOf);
          if (!peak || m.rssMb > peak.rssMb) peak = m;
        }, 100);
  const line = await firstLine(p);
  clearInterval(timer);
  await once(p, 'exit');
  return { result: JSON.parse(line) as LoadResult, peak };
}

async function startAgent(
  args: string[],
  dir: string,
  mixer: string,
): Promise<{ proc: ChildProcess; statusPort: number }> {
  const certs = join(dir, 'certs');
  mkdirSync(certs, { recursive: true });
  writeCertFiles(certs, testLeaf(testRoot(), 'default', 'productpage'));
  const statusPort = await freePort();
  const proc = node(
    1,
    [
      ...args,
      '--configPath',
      dir,
      '--certsDir',
      certs,
      '--startEnvoy',
      'false',
      '--discoveryAddress',
      `127.0.0.1:${await freePort()}`,
      '--mixerAddress',
      mixer,
      '--statusPort',
      String(statusPort),
      '--readinessPort',
      String(await freePort()),
    ],
    {
      POD_NAME: 'productpage-1',
      POD_NAMESPACE: 'default',
      INSTANCE_IP: '127.0.0.1',
      SERVICE_ACCOUNT: 'productpage',
    },
  );
  await until(async () => (await fetch(`http://127.0.0.1:${statusPort}/healthz`)).status === 200);
  return { proc, statusPort };
}

function metric(text: string, re: RegExp): number {
  return [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
}

interface Variant {
  readonly name: string;
  readonly args: readonly string[];
  readonly nodeFlags?: readonly string[];
  /** Put the ext_authz load through it (otherwise idle memory only). */
  readonly load: boolean;
}

const cliSource = here('../../cli/main.ts');
const cliDist = here('../../dist/cli/main.js');
const variants: Variant[] = [
  { name: 'agent alone, sources', args: [here('./agent-entry.ts')], load: false },
  { name: 'istio-lite agent, sources', args: [cliSource, 'agent', 'sidecar'], load: true },
  {
    name: 'istio-lite agent, sources, semi-space 1 MB',
    args: [cliSource, 'agent', 'sidecar'],
    nodeFlags: ['--max-semi-space-size=1'],
    load: true,
  },
  // The image runs compiled JS (npm run build): measured when dist/ exists.
  ...(existsSync(cliDist)
    ? [
        { name: 'istio-lite agent, dist', args: [cliDist, 'agent', 'sidecar'], load: false },
        {
          name: 'istio-lite agent, dist, semi-space 1 MB',
          args: [cliDist, 'agent', 'sidecar'],
          nodeFlags: ['--max-semi-space-size=1'],
          load: true,
        },
      ]
    : []),
];

interface Measured {
  readonly variant: Variant;
  readonly idle: Memory;
  readonly loaded?: { readonly result: LoadResult; readonly peak: Memory | undefined };
  readonly fromCache: number;
  readonly fromMixer: number;
}

const mb = (m: Memory | undefined) =>
  m ? `${m.rssMb.toFixed(1)} MB (anon ${m.anonMb.toFixed(1)}, file ${m.fileMb.toFixed(1)})` : 'n/a';
const row = (name: string, r: LoadResult) =>
  `${name.padEnd(46)} ${r.perSecond.toFixed(0).padStart(7)}/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  errors ${r.errors}`;

const root = mkdtempSync(join(tmpdir(), 'bench-agent-'));
try {
  // A bare Node process: the floor every Node agent pays.
  const bare = node(1, ['-e', 'setInterval(() => {}, 1000); console.log("up")']);
  await firstLine(bare);
  await sleep(2000);
  const bareMem = memory(bare.pid ?? 0);
  bare.kill();

  const mixerProc = node(1, [here('./mixer-child.ts')]);
  const { address: mixer } = JSON.parse(await firstLine(mixerProc)) as { address: string };

  // Warm Mixer up (JIT, connections) so the first agent run does not pay for it.
  await load(mixer);

  const measured: Measured[] = [];
  for (const [i, v] of variants.entries()) {
    const dir = join(root, String(i));
    const agent = await startAgent([...(v.nodeFlags ?? []), ...v.args], dir, mixer);
    const pid = agent.proc.pid ?? 0;
    await sleep(3000);
    const idle = memory(pid);
    const loaded = v.load ? await load(`unix:${join(dir, 'MIXER')}`, pid) : undefined;
    const metrics = await (await fetch(`http://127.0.0.1:${agent.statusPort}/metrics`)).text();
    agent.proc.kill('SIGTERM');
    await once(agent.proc, 'exit');
    measured.push({
      variant: v,
      idle,
      ...(loaded ? { loaded } : {}),
      fromCache: metric(
        metrics,
        /^istio_agent_mixer_checks_total\{source="cache",code="\d+"\} (\d+)$/gm,
      ),
      fromMixer: metric(
        metrics,
        /^istio_agent_mixer_checks_total\{source="mixer",code="\d+"\} (\d+)$/gm,
      ),
    });
  }
  const straight = await load(mixer);
  mixerProc.kill('SIGTERM');

  const first = measured.find((m) => m.loaded !== undefined);
  const lines = [
    `bench/agent: ${values.seconds} s per run, ${values.concurrency} in flight, 60 distinct ext_authz requests cycled${hasTaskset ? '; agent and Mixer on core 1, load on core 0' : ''}`,
    '',
    'ext_authz checks',
    ...measured.flatMap((m) =>
      m.loaded
        ? [
            row(`via ${m.variant.name} (warm cache)`, m.loaded.result),
            `${''.padEnd(46)} ${((100 * m.fromCache) / Math.max(1, m.fromCache + m.fromMixer)).toFixed(2)}% from the cache (${m.fromMixer} Mixer calls)`,
          ]
        : [],
    ),
    row('straight to Mixer (its own ext_authz)', straight.result),
    first?.loaded
      ? `speed-up with the agent's cache: ${(first.loaded.result.perSecond / straight.result.perSecond).toFixed(2)}x throughput, p99 ${first.loaded.result.p99.toFixed(2)} vs ${straight.result.p99.toFixed(2)} ms`
      : '',
    '',
    'memory (RSS: anonymous + file-backed, the Node binary itself is ~35 MB of file-backed pages)',
    `${'bare node, idle'.padEnd(46)} ${mb(bareMem)}`,
    ...measured.flatMap((m) => [
      `${`${m.variant.name}, idle`.padEnd(46)} ${mb(m.idle)}`,
      ...(m.loaded
        ? [`${`${m.variant.name}, peak under load`.padEnd(46)} ${mb(m.loaded.peak)}`]
        : []),
    ]),
    `target <= 40 MB RSS idle: ${measured.some((m) => m.idle.rssMb <= 40) ? 'met' : `not met (best ${Math.min(...measured.map((m) => m.idle.rssMb)).toFixed(1)} MB; bare Node is ${bareMem.rssMb.toFixed(1)} MB)`}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  process.stdout.write(
    `${JSON.stringify({ straight: straight.result, bare: bareMem, measured: measured.map((m) => ({ name: m.variant.name, idle: m.idle, load: m.loaded?.result, peak: m.loaded?.peak, fromCache: m.fromCache, fromMixer: m.fromMixer })) })}\n`,
  );
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
}
