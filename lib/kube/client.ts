/**
 * Kubernetes access for every service and test: one way to load a kubeconfig, and the few error
 * helpers every caller needs. The API itself is @kubernetes/client-node 2.x, used directly
 * (`kc.makeApiClient(CoreV1Api)`); this module adds nothing on top of it but the loading order.
 */
import { existsSync } from 'node:fs';
import { ApiException, KubeConfig } from '@kubernetes/client-node';
import { ErrorCode, IstioLiteError, errorMessage } from '../errors.ts';

const inClusterTokenPath = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** Hosts that must never go through an HTTP proxy: the local cluster and webhooks on loopback. */
const loopbackHosts = ['127.0.0.1', 'localhost', '::1'] as const;

/**
 * Adds 127.0.0.1, localhost and ::1 to NO_PROXY and no_proxy (keeping what is there), so a proxy
 * configured on the machine never sees loopback traffic. Returns the new value.
 */
export function ensureNoProxy(env: NodeJS.ProcessEnv = process.env): string {
  const current = env['NO_PROXY'] ?? env['no_proxy'] ?? '';
  const parts = current
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const h of loopbackHosts) if (!parts.includes(h)) parts.push(h);
  const value = parts.join(',');
  env['NO_PROXY'] = value;
  env['no_proxy'] = value;
  return value;
}

export interface LoadKubeConfigOptions {
  /** Environment to read KUBECONFIG and KUBERNETES_SERVICE_HOST from (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Loads a kubeconfig, in this order: the explicit `path`; else the files in `KUBECONFIG` (merged,
 * as kubectl does); else the in-cluster service account (when `KUBERNETES_SERVICE_HOST` is set and
 * the token is mounted); else `~/.kube/config`. Also puts loopback in NO_PROXY. Throws
 * `ISTIO_LITE_ERR_INVALID_CONFIG` when the file cannot be read or names no current cluster.
 */
export function loadKubeConfig(path?: string, options: LoadKubeConfigOptions = {}): KubeConfig {
  const env = options.env ?? process.env;
  ensureNoProxy(process.env);
  const kc = new KubeConfig();
  let source: string;
  try {
    if (path !== undefined && path !== '') {
      source = path;
      kc.loadFromFile(path);
    } else if ((env['KUBECONFIG'] ?? '') !== '') {
      source = `KUBECONFIG=${env['KUBECONFIG'] ?? ''}`;
      withEnv(env, () => {
        kc.loadFromDefault();
      });
    } else if ((env['KUBERNETES_SERVICE_HOST'] ?? '') !== '' && existsSync(inClusterTokenPath)) {
      source = 'in-cluster service account';
      kc.loadFromCluster();
    } else {
      source = '~/.kube/config';
      withEnv(env, () => {
        kc.loadFromDefault();
      });
    }
  } catch (e) {
    throw new IstioLiteError(
      ErrorCode.InvalidConfig,
      `kubeconfig (${path ?? env['KUBECONFIG'] ?? 'default'}): ${errorMessage(e)}`,
      { cause: e },
    );
  }
  if (kc.getCurrentCluster() === null) {
    throw new IstioLiteError(
      ErrorCode.InvalidConfig,
      `kubeconfig from ${source} has no current cluster`,
    );
  }
  return kc;
}

/** client-node's loadFromDefault reads process.env; run it with `env` when the caller gave another. */
function withEnv(env: NodeJS.ProcessEnv, fn: () => void): void {
  if (env === process.env) {
    fn();
    return;
  }
  const saved = process.env['KUBECONFIG'];
  const wanted = env['KUBECONFIG'];
  if (wanted === undefined) delete process.env['KUBECONFIG'];
  else process.env['KUBECONFIG'] = wanted;
  try {
    fn();
  } finally {
    if (saved === undefined) delete process.env['KUBECONFIG'];
    else process.env['KUBECONFIG'] = saved;
  }
}

/** The HTTP status of a failed API call (client-node's `ApiException.code`), else undefined. */
export function apiErrorCode(e: unknown): number | undefined {
  if (e instanceof ApiException) return typeof e.code === 'number' ? e.code : undefined;
  if (typeof e === 'object' && e !== null) {
    // Watch errors carry `statusCode`; ApiException from another copy of the package carries `code`.
    const r = e as { code?: unknown; statusCode?: unknown };
    if (typeof r.code === 'number') return r.code;
    if (typeof r.statusCode === 'number') return r.statusCode;
  }
  return undefined;
}

export function isNotFound(e: unknown): boolean {
  return apiErrorCode(e) === 404;
}

/** 409 from a write whose resourceVersion is stale (retry after a fresh read); not AlreadyExists. */
export function isConflict(e: unknown): boolean {
  return apiErrorCode(e) === 409 && apiErrorReason(e) !== 'AlreadyExists';
}

/** 409 with reason AlreadyExists: a create of an object that exists. */
export function isAlreadyExists(e: unknown): boolean {
  return apiErrorCode(e) === 409 && apiErrorReason(e) === 'AlreadyExists';
}

/** The Status object in a failed API call's body, when it has one. */
function apiErrorStatus(e: unknown): { reason?: unknown; message?: unknown } | undefined {
  if (!(e instanceof ApiException)) return undefined;
  const body: unknown = e.body;
  let status: unknown = body;
  if (typeof body === 'string') {
    try {
      status = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  return typeof status === 'object' && status !== null ? status : undefined;
}

/** The `reason` of the Status in a failed API call's body (`NotFound`, `AlreadyExists`, …). */
export function apiErrorReason(e: unknown): string | undefined {
  const reason = apiErrorStatus(e)?.reason;
  return typeof reason === 'string' ? reason : undefined;
}

/**
 * A failed API call in one short line: `HTTP 429 TooManyRequests: storage is (re)initializing`.
 * client-node's own message carries the whole body and every response header.
 */
export function describeApiError(e: unknown): string {
  const code = apiErrorCode(e);
  if (!(e instanceof ApiException) || code === undefined) return errorMessage(e);
  const status = apiErrorStatus(e);
  const reason = typeof status?.reason === 'string' ? ` ${status.reason}` : '';
  const message = typeof status?.message === 'string' ? status.message : undefined;
  const text = message ?? (typeof e.body === 'string' && e.body !== '' ? e.body : undefined);
  return `HTTP ${code}${reason}${text === undefined ? '' : `: ${text.slice(0, 300)}`}`;
}

/** 429 (the server asks to come back later, e.g. while a new resource's storage initialises) or 503. */
export function isRetryLater(e: unknown): boolean {
  const code = apiErrorCode(e);
  return code === 429 || code === 503;
}
