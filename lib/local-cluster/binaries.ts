/**
 * Finds the local cluster's binaries: the env var (`KUBE_APISERVER`, `ETCD`, `HELM`), then PATH,
 * then the cache folder (`ISTIO_LITE_CACHE`, else `.cache/bin` under the project root) where
 * scripts/build-binaries.sh puts `<name>-<version>`. When none is found, runs that script (Go and
 * the module proxy needed, minutes the first time), printing its progress, under a lock so two
 * processes never build the same binary at once. With `ISTIO_LITE_NO_BUILD=1` (set by the test
 * tiers: `npm test` builds everything before the first test) a missing binary is an error instead.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { ErrorCode, IstioLiteError } from '../errors.ts';
import { projectRoot } from '../package-info.ts';
import { withLock } from './lock.ts';

export const BinaryName = {
  KubeApiserver: 'kube-apiserver',
  Etcd: 'etcd',
  Helm: 'helm',
} as const;
export type BinaryName = (typeof BinaryName)[keyof typeof BinaryName];

const envVarOf: Readonly<Record<BinaryName, string>> = {
  'kube-apiserver': 'KUBE_APISERVER',
  etcd: 'ETCD',
  helm: 'HELM',
};

const versionVarOf: Readonly<Record<BinaryName, string>> = {
  'kube-apiserver': 'KUBE_VERSION',
  etcd: 'ETCD_VERSION',
  helm: 'HELM_VERSION',
};

export const buildScript = join(projectRoot, 'scripts', 'build-binaries.sh');

export interface BinaryOptions {
  /** Environment for the lookups (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** Receives the build script's progress lines (default: written to stderr). */
  readonly progress?: (line: string) => void;
  /** The script that builds a missing binary (default scripts/build-binaries.sh; for tests). */
  readonly buildScript?: string;
}

/** The pinned versions, read from the build script's `X_VERSION=${X_VERSION:-vN}` lines. */
export function pinnedVersions(scriptText: string): Readonly<Record<BinaryName, string>> {
  const out: Partial<Record<BinaryName, string>> = {};
  for (const name of Object.values(BinaryName)) {
    const v = versionVarOf[name];
    const m = new RegExp(`^${v}=\\$\\{${v}:-([^}]+)\\}`, 'm').exec(scriptText);
    if (m?.[1] === undefined) {
      throw new IstioLiteError(ErrorCode.Internal, `build script has no ${v} default`);
    }
    out[name] = m[1];
  }
  return out as Record<BinaryName, string>;
}

/** The version wanted for `name`: the env override the build script also reads, else its pin. */
export function wantedVersion(name: BinaryName, env: NodeJS.ProcessEnv = process.env): string {
  const override = env[versionVarOf[name]];
  if (override !== undefined && override !== '') return override;
  return pinnedVersions(readFileSync(buildScript, 'utf8'))[name];
}

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const c = env['ISTIO_LITE_CACHE'];
  return c !== undefined && c !== '' ? resolve(c) : join(projectRoot, '.cache', 'bin');
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const p = join(dir, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

/** `etcd --version` first line `etcd Version: 3.6.16` → [3, 6]. */
export function parseEtcdVersion(output: string): [number, number] | undefined {
  const m = /etcd Version:\s*v?(\d+)\.(\d+)/.exec(output);
  return m?.[1] !== undefined && m[2] !== undefined ? [Number(m[1]), Number(m[2])] : undefined;
}

/** Debian's etcd 3.4 runs but lacks --unsafe-no-fsync and is below what Kubernetes supports. */
function usableFromPath(name: BinaryName, path: string): boolean {
  if (name !== 'etcd') return true;
  const r = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  const v = parseEtcdVersion(r.stdout);
  return v !== undefined && (v[0] > 3 || (v[0] === 3 && v[1] >= 5));
}

/** Where `name` is, without building; undefined when it is nowhere. */
export function findBinary(
  name: BinaryName,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const explicit = env[envVarOf[name]];
  if (explicit !== undefined && explicit !== '') {
    const p = resolve(explicit);
    if (!isExecutable(p)) {
      throw new IstioLiteError(
        ErrorCode.InvalidConfig,
        `${envVarOf[name]}=${explicit}: not an executable file`,
      );
    }
    return p;
  }
  const fromPath = onPath(name, env);
  if (fromPath !== undefined && usableFromPath(name, fromPath)) return fromPath;
  const cached = join(cacheDir(env), `${name}-${wantedVersion(name, env)}`);
  return isExecutable(cached) ? cached : undefined;
}

/** The variable that forbids building (tests: a build inside a timed hook would time out). */
export const noBuildVar = 'ISTIO_LITE_NO_BUILD';

/** The error for a binary that is missing where nothing may build it. */
export function missingBinaryError(name: BinaryName, env: NodeJS.ProcessEnv): IstioLiteError {
  return new IstioLiteError(
    ErrorCode.External,
    `${name} ${wantedVersion(name, env)} is not built: run \`bash scripts/build-binaries.sh\` ` +
      `(npm test does it before the first test), or set ${envVarOf[name]} to the binary`,
  );
}

/** Where `name` is, building it into the cache folder first when it is nowhere. */
export async function ensureBinary(name: BinaryName, options: BinaryOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const found = findBinary(name, env);
  if (found !== undefined) return found;
  if (env[noBuildVar] === '1') throw missingBinaryError(name, env);
  const dir = cacheDir(env);
  return withLock(join(dir, `.build-${name}.lock`), { timeoutMs: 30 * 60_000 }, async () => {
    const again = findBinary(name, env);
    if (again !== undefined) return again; // another process built it while we waited
    await runBuild(name, dir, env, options);
    const built = findBinary(name, env);
    if (built === undefined) {
      throw new IstioLiteError(
        ErrorCode.External,
        `${options.buildScript ?? buildScript} finished but ${name} is not in ${dir}`,
      );
    }
    return built;
  });
}

/** helm, for the chart tests and `helm install` against the local cluster (built when missing). */
export function helmPath(options: BinaryOptions = {}): Promise<string> {
  return ensureBinary('helm', options);
}

function defaultProgress(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function runBuild(
  name: BinaryName,
  dir: string,
  env: NodeJS.ProcessEnv,
  options: BinaryOptions,
): Promise<void> {
  const script = options.buildScript ?? buildScript;
  const progress = options.progress ?? defaultProgress;
  if (!existsSync(script)) {
    throw new IstioLiteError(
      ErrorCode.External,
      `${name} not found and ${script} is missing; set ${envVarOf[name]} to the binary`,
    );
  }
  progress(`[istio-lite] ${name} not found; building it into ${dir} (Go, several minutes)`);
  const child = spawn('bash', [script, dir, name], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = [child.stdout, child.stderr].map((input) => {
    const rl = createInterface({ input });
    rl.on('line', progress);
    return new Promise<void>((r) => rl.once('close', r));
  });
  const code = await new Promise<number | null>((res, rej) => {
    child.on('error', rej);
    child.on('close', res);
  });
  await Promise.all(lines);
  if (code !== 0) {
    throw new IstioLiteError(
      ErrorCode.External,
      `building ${name} failed (${script} exited ${String(code)}); it needs Go and the module proxy, or set ${envVarOf[name]}`,
    );
  }
}
