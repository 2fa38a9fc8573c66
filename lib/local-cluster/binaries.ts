/**
 * Finds the binaries the local cluster and the cluster tests run: the env var (`KUBE_APISERVER`,
 * `KUBE_CONTROLLER_MANAGER`, `KUBE_SCHEDULER`, `KWOK`, `ETCD`, `HELM`, `CONSUL`, `JAEGER`,
 * `EUREKA_JAR`, `GRPC_GO_CLIENT`; bench/pilot's peer istiod: `PILOT_DISCOVERY`), then PATH (not for the Eureka jar
 * nor pilot-discovery), then the cache folder
 * (`ISTIO_LITE_CACHE`, else `.cache/bin` under the project root) where scripts/build-binaries.sh
 * puts `<name>-<version>` (the Eureka server: `eureka-server-<version>-<source hash>.jar`; the
 * grpc-go client: `grpc-go-client-<grpc-go version>-<source hash>`). When
 * none is found, runs that script (Go and the module proxy needed, or Maven for the Eureka server;
 * minutes the first time), printing its progress, under a lock so two processes never build the
 * same binary at once. With `ISTIO_LITE_NO_BUILD=1` (set by the test tiers: `npm test` builds
 * everything before the first test) a missing binary is an error instead.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { ErrorCode, IstioLiteError } from '../errors.ts';
import { projectRoot } from '../package-info.ts';
import { withLock } from './lock.ts';
import { eurekaSourceDir, eurekaSourceHash, grpcGoClientSourceHash } from './source-hashes.ts';

export const BinaryName = {
  KubeApiserver: 'kube-apiserver',
  KubeControllerManager: 'kube-controller-manager',
  KubeScheduler: 'kube-scheduler',
  /** Simulates the local cluster's nodes: pods scheduled there turn Running, Ready, Succeeded. */
  Kwok: 'kwok',
  Etcd: 'etcd',
  Helm: 'helm',
  /** Consul 1.14, for the Consul registry's cluster tests. */
  Consul: 'consul',
  /** Jaeger v2 (cmd/jaeger), the tracing tests' Zipkin-format collector and query API. */
  Jaeger: 'jaeger',
  /** The tests' Eureka server: a Spring Boot jar built from e2e/eureka-server. */
  Eureka: 'eureka',
  /** A grpc-go client (e2e/grpc-go-client): gRPC wire compatibility tests, the gRPC benches' load. */
  GrpcGoClient: 'grpc-go-client',
} as const;
export type BinaryName = (typeof BinaryName)[keyof typeof BinaryName];

/**
 * Binaries built only when something asks for one by name: neither `npm test` nor the cluster
 * tier's hooks want them. istiod's pilot-discovery is bench/pilot's peer (`--peer istiod`).
 */
export const PeerBinaryName = {
  PilotDiscovery: 'pilot-discovery',
} as const;
export type PeerBinaryName = (typeof PeerBinaryName)[keyof typeof PeerBinaryName];

/** Any binary the build script knows. */
export type AnyBinaryName = BinaryName | PeerBinaryName;

interface BinarySpec {
  /** The variable that points at an existing binary. */
  readonly envVar: string;
  /** The build script's version variable (its default is the pin). */
  readonly versionVar: string;
  /** Looked up on PATH as `name` (not the Eureka jar). */
  readonly onPath: boolean;
  /** Run as a program (the jar is run by java: readable is enough). */
  readonly executable: boolean;
  /** What builds it, for the progress and error lines. */
  readonly builtWith: string;
}

const specOf: Readonly<Record<AnyBinaryName, BinarySpec>> = {
  'kube-apiserver': {
    envVar: 'KUBE_APISERVER',
    versionVar: 'KUBE_VERSION',
    onPath: true,
    executable: true,
    builtWith: 'Go',
  },
  'kube-controller-manager': {
    envVar: 'KUBE_CONTROLLER_MANAGER',
    versionVar: 'KUBE_VERSION',
    onPath: true,
    executable: true,
    builtWith: 'Go',
  },
  'kube-scheduler': {
    envVar: 'KUBE_SCHEDULER',
    versionVar: 'KUBE_VERSION',
    onPath: true,
    executable: true,
    builtWith: 'Go',
  },
  kwok: {
    envVar: 'KWOK',
    versionVar: 'KWOK_VERSION',
    onPath: true,
    executable: true,
    builtWith: 'Go',
  },
  etcd: {
    envVar: 'ETCD',
    versionVar: 'ETCD_VERSION',
    onPath: true,
    executable: true,
    builtWith: 'Go',
  },
  helm: {
    envVar: 'HELM',
    versionVar: 'HELM_VERSION',
    onPath: true,
    executable: true,
    builtWith: 'Go',
  },
  consul: {
    envVar: 'CONSUL',
    versionVar: 'CONSUL_VERSION',
    onPath: true,
    executable: true,
    builtWith: 'Go',
  },
  jaeger: {
    envVar: 'JAEGER',
    versionVar: 'JAEGER_VERSION',
    onPath: true,
    executable: true,
    builtWith: 'Go',
  },
  eureka: {
    envVar: 'EUREKA_JAR',
    versionVar: 'EUREKA_VERSION',
    onPath: false,
    executable: false,
    builtWith: 'Maven',
  },
  'grpc-go-client': {
    envVar: 'GRPC_GO_CLIENT',
    versionVar: 'GRPC_GO_VERSION',
    onPath: false,
    executable: true,
    builtWith: 'Go',
  },
  'pilot-discovery': {
    envVar: 'PILOT_DISCOVERY',
    versionVar: 'ISTIO_VERSION',
    onPath: false,
    executable: true,
    builtWith: 'Go',
  },
};

/** The variable that points at an existing `name` (`HELM`, `EUREKA_JAR`, …). */
export function envVarOf(name: AnyBinaryName): string {
  return specOf[name].envVar;
}

export {
  eurekaSourceDir,
  eurekaSourceHash,
  grpcGoClientSourceDir,
  grpcGoClientSourceHash,
} from './source-hashes.ts';

/** The name scripts/build-binaries.sh gives `name` at `version` in the cache folder. */
export function cacheFileName(
  name: AnyBinaryName,
  version: string,
  eurekaDir: string = eurekaSourceDir,
): string | undefined {
  if (name === 'grpc-go-client') {
    const hash = grpcGoClientSourceHash();
    return hash === undefined ? undefined : `grpc-go-client-${version}-${hash}`;
  }
  if (name !== 'eureka') return `${name}-${version}`;
  const hash = eurekaSourceHash(eurekaDir);
  return hash === undefined ? undefined : `eureka-server-${version}-${hash}.jar`;
}

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
export function pinnedVersions(scriptText: string): Readonly<Record<AnyBinaryName, string>> {
  const out: Partial<Record<AnyBinaryName, string>> = {};
  for (const name of [...Object.values(BinaryName), ...Object.values(PeerBinaryName)]) {
    const v = specOf[name].versionVar;
    const m = new RegExp(`^${v}=\\$\\{${v}:-([^}]+)\\}`, 'm').exec(scriptText);
    if (m?.[1] === undefined) {
      throw new IstioLiteError(ErrorCode.Internal, `build script has no ${v} default`);
    }
    out[name] = m[1];
  }
  return out as Record<AnyBinaryName, string>;
}

/** The version wanted for `name`: the env override the build script also reads, else its pin. */
export function wantedVersion(name: AnyBinaryName, env: NodeJS.ProcessEnv = process.env): string {
  const override = env[specOf[name].versionVar];
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
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isReadableFile(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return statSync(path).isFile();
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
function usableFromPath(name: AnyBinaryName, path: string): boolean {
  if (name !== 'etcd') return true;
  const r = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  const v = parseEtcdVersion(r.stdout);
  return v !== undefined && (v[0] > 3 || (v[0] === 3 && v[1] >= 5));
}

/** Where `name` is, without building; undefined when it is nowhere. */
export function findBinary(
  name: AnyBinaryName,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const spec = specOf[name];
  const usable = spec.executable ? isExecutable : isReadableFile;
  const explicit = env[spec.envVar];
  if (explicit !== undefined && explicit !== '') {
    const p = resolve(explicit);
    if (!usable(p)) {
      throw new IstioLiteError(
        ErrorCode.InvalidConfig,
        `${spec.envVar}=${explicit}: not ${spec.executable ? 'an executable' : 'a readable'} file`,
      );
    }
    return p;
  }
  if (spec.onPath) {
    const fromPath = onPath(name, env);
    if (fromPath !== undefined && usableFromPath(name, fromPath)) return fromPath;
  }
  const file = cacheFileName(name, wantedVersion(name, env));
  if (file === undefined) return undefined;
  const cached = join(cacheDir(env), file);
  return usable(cached) ? cached : undefined;
}

/** The variable that forbids building (tests: a build inside a timed hook would time out). */
export const noBuildVar = 'ISTIO_LITE_NO_BUILD';

/** The error for a binary that is missing where nothing may build it. */
export function missingBinaryError(name: AnyBinaryName, env: NodeJS.ProcessEnv): IstioLiteError {
  return new IstioLiteError(
    ErrorCode.External,
    `${name} ${wantedVersion(name, env)} is not built: run \`bash scripts/build-binaries.sh\` ` +
      `(npm test does it before the first test), or set ${envVarOf(name)} to the ${name === 'eureka' ? 'jar' : 'binary'}`,
  );
}

/** Where `name` is, building it into the cache folder first when it is nowhere. */
export async function ensureBinary(
  name: AnyBinaryName,
  options: BinaryOptions = {},
): Promise<string> {
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
  name: AnyBinaryName,
  dir: string,
  env: NodeJS.ProcessEnv,
  options: BinaryOptions,
): Promise<void> {
  const script = options.buildScript ?? buildScript;
  const progress = options.progress ?? defaultProgress;
  if (!existsSync(script)) {
    throw new IstioLiteError(
      ErrorCode.External,
      `${name} not found and ${script} is missing; set ${envVarOf(name)} to the binary`,
    );
  }
  const tool = specOf[name].builtWith;
  const takes = name === 'pilot-discovery' ? 'about 20 minutes and 3 GB' : 'several minutes';
  progress(`[istio-lite] ${name} not found; building it into ${dir} (${tool}, ${takes})`);
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
      `building ${name} failed (${script} exited ${String(code)}); it needs ${tool === 'Go' ? 'Go and the module proxy' : 'Maven and a JDK'}, or set ${envVarOf(name)}`,
    );
  }
}
