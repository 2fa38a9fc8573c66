/**
 * bench/ca: certificate issuances per second, ECDSA P-256 and RSA 2048, in-process (the CA's CSR
 * path on one core) and over gRPC with TLS (server pinned to core 0, load on core 1 when taskset
 * exists), with a pure node-forge RSA signer as the baseline in the same run, and the ECDSA path on
 * @peculiar/x509's ASN.1 codec for comparison (bench/ca/library-ca.ts). Target: >= 1,000 ECDSA
 * issuances/s in-process on one core.
 *
 *   npm run bench:ca [-- --seconds N --concurrency C]
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { hasTaskset, pinnedNode, readLines } from '../pinned-process.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '32' },
  },
});

function node(core: number, script: string, args: string[]): ChildProcess {
  return pinnedNode(core, [fileURLToPath(new URL(script, import.meta.url)), ...args], {
    env: { LOG_LEVEL: 'silent' },
  });
}

async function lines(p: ChildProcess, count: number): Promise<unknown[]> {
  return (await readLines(p, count)).map((l): unknown => JSON.parse(l));
}

interface Rate {
  readonly name: string;
  readonly perSecond: number;
  readonly p50?: number;
  readonly p99?: number;
  readonly errors?: number;
}

function num(v: unknown, key: string): number {
  const x = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
  return typeof x === 'number' ? x : NaN;
}

async function inProcess(): Promise<Rate[]> {
  const p = node(0, './inprocess.ts', ['--seconds', values.seconds]);
  const out = await lines(p, 4);
  await once(p, 'exit');
  return out.map((o) => ({
    name: String((o as Record<string, unknown>)['name']),
    perSecond: num(o, 'perSecond'),
  }));
}

async function overGrpc(alg: 'ecdsa-p256' | 'rsa-2048'): Promise<Rate> {
  const server = node(0, './server.ts', ['--alg', alg]);
  try {
    const [info] = await lines(server, 1);
    const port = String(num(info, 'port'));
    const root = String((info as Record<string, unknown>)['root']);
    const load = node(1, './grpc-load.ts', [
      '--port',
      port,
      `--root=${root}`,
      '--alg',
      alg,
      '--seconds',
      values.seconds,
      '--concurrency',
      values.concurrency,
    ]);
    const [r] = await lines(load, 1);
    await once(load, 'exit');
    return {
      name: `gRPC+TLS ${alg === 'rsa-2048' ? 'RSA 2048' : 'ECDSA P-256'} (node:crypto)`,
      perSecond: num(r, 'perSecond'),
      p50: num(r, 'p50'),
      p99: num(r, 'p99'),
      errors: num(r, 'errors'),
    };
  } finally {
    server.kill('SIGTERM');
  }
}

const results = [...(await inProcess()), await overGrpc('ecdsa-p256'), await overGrpc('rsa-2048')];
const by = (prefix: string) => results.find((r) => r.name.startsWith(prefix))?.perSecond ?? NaN;
const forge = by('in-process RSA 2048 (node-forge');

process.stdout.write(
  `CA issuance benchmark (${values.seconds} s per case, ${hasTaskset ? 'pinned: CA on core 0, load on core 1' : 'no taskset: not pinned'})\n\n`,
);
for (const r of results) {
  const lat =
    r.p50 === undefined
      ? ''
      : `  p50 ${r.p50.toFixed(2)} ms  p99 ${(r.p99 ?? 0).toFixed(2)} ms  errors ${r.errors ?? 0}`;
  process.stdout.write(
    `${r.name.padEnd(46)} ${r.perSecond.toFixed(0).padStart(7)} issuances/s  ${(r.perSecond / forge).toFixed(1).padStart(6)}x forge${lat}\n`,
  );
}
const ec = by('in-process ECDSA P-256 (node:crypto');
const ok = ec >= 1000;
process.stdout.write(
  `\nratios: ECDSA/forge ${(ec / forge).toFixed(0)}x, RSA node:crypto/forge ${(by('in-process RSA 2048 (node:crypto') / forge).toFixed(0)}x, ` +
    `gRPC/in-process ECDSA ${(by('gRPC+TLS ECDSA') / ec).toFixed(2)}, ` +
    `@peculiar/x509 codec/hand-written ECDSA ${(by('in-process ECDSA P-256 (@peculiar') / ec).toFixed(2)}\n` +
    `target >= 1,000 ECDSA issuances/s in-process on one core: ${ok ? 'met' : 'NOT met'} (${ec.toFixed(0)})\n`,
);
process.exitCode = ok ? 0 : 1;
