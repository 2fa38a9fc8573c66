/**
 * How to reach the API server without loading @kubernetes/client-node (about 60 MB of memory and
 * a second of start-up in a process that only lists and watches): the server and what a request
 * needs (TLS material, a bearer token or basic auth) from a kubeconfig or the in-cluster service
 * account, in lib/kube/client.ts's order.
 *
 * `KubeCredentials` is the part of client-node's `KubeConfig` that lib/kube/raw.ts and
 * lib/kube/http.ts use, so a `KubeConfig` works wherever these do. A kubeconfig this reader does
 * not cover (a user with an exec plugin, an auth provider or impersonation, a cluster behind a
 * proxy-url, KUBECONFIG naming several files) is loaded by client-node, imported only then.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { RequestOptions } from 'node:https';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { ErrorCode, IstioLiteError, errorMessage } from '../errors.ts';
import { isObject, type JsonObject } from '../json.ts';
import { parseYamlDocument } from '../yaml.ts';
import { ensureNoProxy } from './no-proxy.ts';

export interface KubeCredentials {
  getCurrentCluster(): { readonly server: string } | null;
  /** Adds TLS options and credentials to a request's options. */
  applyToHTTPSOptions(opts: RequestOptions): Promise<void>;
}

const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';
/** A projected service account token is rotated by the kubelet; it is read again this often. */
const tokenRereadMs = 60_000;

export interface StaticCredentialsOptions {
  readonly server: string;
  readonly ca?: Buffer | undefined;
  readonly cert?: Buffer | undefined;
  readonly key?: Buffer | undefined;
  readonly token?: string | undefined;
  /** Read (again every minute) for the bearer token. */
  readonly tokenFile?: string | undefined;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  readonly insecureSkipTlsVerify?: boolean | undefined;
  readonly tlsServerName?: string | undefined;
  /** The clock the token file's age is read with (tests). */
  readonly now?: (() => number) | undefined;
}

/** Credentials that are files and strings, read once (a token file every minute). */
export class StaticCredentials implements KubeCredentials {
  private readonly o: StaticCredentialsOptions;
  private token: { value: string; readAt: number } | undefined;

  constructor(o: StaticCredentialsOptions) {
    this.o = o;
  }

  getCurrentCluster(): { readonly server: string } {
    return { server: this.o.server };
  }

  applyToHTTPSOptions(opts: RequestOptions): Promise<void> {
    const o = this.o;
    if (o.ca) opts.ca = o.ca;
    if (o.cert) opts.cert = o.cert;
    if (o.key) opts.key = o.key;
    if (o.insecureSkipTlsVerify) opts.rejectUnauthorized = false;
    if (o.tlsServerName !== undefined) opts.servername = o.tlsServerName;
    const bearer = this.bearer();
    if (bearer !== undefined) {
      opts.headers = {
        ...(opts.headers as Record<string, string>),
        Authorization: `Bearer ${bearer}`,
      };
    } else if (o.username !== undefined) {
      opts.auth = `${o.username}:${o.password ?? ''}`;
    }
    return Promise.resolve();
  }

  private bearer(): string | undefined {
    if (this.o.token !== undefined) return this.o.token;
    const file = this.o.tokenFile;
    if (file === undefined) return undefined;
    const now = (this.o.now ?? Date.now)();
    if (this.token === undefined || now - this.token.readAt > tokenRereadMs) {
      this.token = { value: readFileSync(file, 'utf8').trim(), readAt: now };
    }
    return this.token.value;
  }
}

export interface LoadKubeCredentialsOptions {
  /** Environment to read KUBECONFIG and KUBERNETES_SERVICE_HOST from (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** The service account folder of the in-cluster case (tests). */
  readonly serviceAccountDir?: string;
  /** The clock a token file's age is read with (tests). */
  readonly now?: () => number;
}

/**
 * Loads credentials in lib/kube/client.ts's order: the explicit `path`; else the file in
 * `KUBECONFIG`; else the in-cluster service account (`KUBERNETES_SERVICE_HOST` set and the
 * token mounted); else `~/.kube/config`. Puts loopback in NO_PROXY. Errors name the file.
 */
export async function loadKubeCredentials(
  path?: string,
  options: LoadKubeCredentialsOptions = {},
): Promise<KubeCredentials> {
  const env = options.env ?? process.env;
  ensureNoProxy(process.env);
  const saDir = options.serviceAccountDir ?? serviceAccountDir;
  let file: string;
  if (path !== undefined && path !== '') file = path;
  else if ((env['KUBECONFIG'] ?? '') !== '') {
    const files = (env['KUBECONFIG'] ?? '').split(':').filter((f) => f !== '');
    if (files.length !== 1 || files[0] === undefined) return byClientNode(path, env);
    file = files[0];
  } else if ((env['KUBERNETES_SERVICE_HOST'] ?? '') !== '' && existsSync(join(saDir, 'token'))) {
    return inCluster(env, saDir, options.now);
  } else file = join(homedir(), '.kube', 'config');
  const creds = fromKubeconfigFile(file);
  return creds ?? byClientNode(path, env);
}

function inCluster(env: NodeJS.ProcessEnv, dir: string, now?: () => number): KubeCredentials {
  const host = env['KUBERNETES_SERVICE_HOST'] ?? '';
  const port = env['KUBERNETES_SERVICE_PORT'] ?? '443';
  const h = host.includes(':') ? `[${host}]` : host;
  return new StaticCredentials({
    server: `https://${h}:${port}`,
    ca: readFileSync(join(dir, 'ca.crt')),
    tokenFile: join(dir, 'token'),
    now,
  });
}

async function byClientNode(
  path: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<KubeCredentials> {
  const { loadKubeConfig } = await import('./client.ts');
  return loadKubeConfig(path, { env });
}

const clusterFields = new Set([
  'server',
  'certificate-authority',
  'certificate-authority-data',
  'insecure-skip-tls-verify',
  'tls-server-name',
  'extensions',
]);
const userFields = new Set([
  'client-certificate',
  'client-certificate-data',
  'client-key',
  'client-key-data',
  'token',
  'tokenFile',
  'username',
  'password',
  'extensions',
]);

function invalid(file: string, message: string): IstioLiteError {
  return new IstioLiteError(ErrorCode.InvalidConfig, `kubeconfig (${file}): ${message}`);
}

function named(list: unknown, name: string, key: string): JsonObject | undefined {
  if (!Array.isArray(list)) return undefined;
  for (const item of list) {
    if (isObject(item) && item['name'] === name) {
      const v = item[key];
      return isObject(v) ? v : undefined;
    }
  }
  return undefined;
}

/**
 * Credentials from one kubeconfig file, or undefined when it needs what only client-node does
 * (an exec plugin, an auth provider, impersonation, a proxy): then client-node loads it.
 */
export function fromKubeconfigFile(file: string): StaticCredentials | undefined {
  let doc: unknown;
  try {
    doc = parseYamlDocument(readFileSync(file, 'utf8'), file);
  } catch (e) {
    throw invalid(file, errorMessage(e));
  }
  if (!isObject(doc)) throw invalid(file, 'not a kubeconfig (no mapping at the top)');
  const current = doc['current-context'];
  if (typeof current !== 'string' || current === '') {
    throw invalid(file, 'has no current-context, so no current cluster');
  }
  const ctx = named(doc['contexts'], current, 'context');
  if (ctx === undefined) throw invalid(file, `current-context "${current}" is not in contexts`);
  const clusterName = ctx['cluster'];
  const cluster =
    typeof clusterName === 'string' ? named(doc['clusters'], clusterName, 'cluster') : undefined;
  if (cluster === undefined) {
    throw invalid(file, `context "${current}" names no cluster of clusters`);
  }
  const userName = ctx['user'];
  const user =
    (typeof userName === 'string' ? named(doc['users'], userName, 'user') : undefined) ?? {};
  if (Object.keys(cluster).some((k) => !clusterFields.has(k))) return undefined;
  if (Object.keys(user).some((k) => !userFields.has(k))) return undefined;
  const server = cluster['server'];
  if (typeof server !== 'string' || !/^https?:\/\//.test(server)) {
    throw invalid(
      file,
      `cluster "${typeof clusterName === 'string' ? clusterName : ''}" has no server URL`,
    );
  }
  const base = dirname(resolve(file));
  const material = (o: JsonObject, dataKey: string, fileKey: string): Buffer | undefined => {
    const data = o[dataKey];
    if (typeof data === 'string' && data !== '') return Buffer.from(data, 'base64');
    const f = o[fileKey];
    if (typeof f !== 'string' || f === '') return undefined;
    const p = isAbsolute(f) ? f : join(base, f);
    try {
      return readFileSync(p);
    } catch (e) {
      throw invalid(file, `${fileKey} ${p}: ${errorMessage(e)}`);
    }
  };
  const str = (o: JsonObject, k: string): string | undefined => {
    const v = o[k];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const tokenFile = str(user, 'tokenFile');
  if (
    tokenFile !== undefined &&
    !statSync(isAbsolute(tokenFile) ? tokenFile : join(base, tokenFile), { throwIfNoEntry: false })
  ) {
    throw invalid(file, `tokenFile ${tokenFile} does not exist`);
  }
  return new StaticCredentials({
    server: server.replace(/\/+$/, ''),
    ca: material(cluster, 'certificate-authority-data', 'certificate-authority'),
    cert: material(user, 'client-certificate-data', 'client-certificate'),
    key: material(user, 'client-key-data', 'client-key'),
    token: str(user, 'token'),
    tokenFile:
      tokenFile === undefined
        ? undefined
        : isAbsolute(tokenFile)
          ? tokenFile
          : join(base, tokenFile),
    username: str(user, 'username'),
    password: str(user, 'password'),
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
    tlsServerName: str(cluster, 'tls-server-name'),
  });
}
