/**
 * Kubernetes access for every service and test: one way to load a kubeconfig, and the few error
 * helpers every caller needs. The API itself is @kubernetes/client-node 2.x, used directly
 * (`kc.makeApiClient(CoreV1Api)`); this module adds nothing on top of it but the loading order.
 */
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { ErrorCode, IstioLiteError, errorMessage } from '../errors.ts';
import { ensureNoProxy } from './no-proxy.ts';

export { ensureNoProxy };

const inClusterTokenPath = '/var/run/secrets/kubernetes.io/serviceaccount/token';

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

export {
  apiErrorCode,
  apiErrorReason,
  describeApiError,
  isAlreadyExists,
  isConflict,
  isNotFound,
  isRetryLater,
} from './api-errors.ts';
