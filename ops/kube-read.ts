/**
 * Reads from the API server for the operator commands: an object or list as JSON, and a path on a
 * pod's port through the API server's pod proxy (which needs `get` on `pods/proxy`). Errors say
 * which server, path and pod, and the API server's own message.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { ErrorCode, IstioLiteError, errorMessage } from '../lib/errors.ts';
import { kubeRequest, type RawResponse } from '../lib/kube/raw.ts';
import { errorText } from './error-text.ts';

function server(kc: KubeConfig): string {
  return kc.getCurrentCluster()?.server ?? 'the API server';
}

async function request(kc: KubeConfig, path: string): Promise<RawResponse> {
  try {
    return await kubeRequest(kc, 'GET', path);
  } catch (e) {
    const cause =
      e instanceof Error && e.cause instanceof Error ? e.cause.message : errorMessage(e);
    throw new IstioLiteError(
      ErrorCode.External,
      `the API server at ${server(kc)} is unreachable: ${cause}`,
      { cause: e },
    );
  }
}

/** GETs an API path; resolves to its JSON, or undefined for 404 when `missingOk`. */
export async function kubeGet(kc: KubeConfig, path: string, missingOk = false): Promise<unknown> {
  let r = await request(kc, path);
  // 429: the API server asks to come back (a resource just added is still initializing).
  for (let attempt = 1; r.status === 429 && attempt <= 5; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    r = await request(kc, path);
  }
  if (r.status === 404 && missingOk) return undefined;
  if (r.status !== 200) {
    throw new IstioLiteError(
      ErrorCode.External,
      `GET ${path} on ${server(kc)}: HTTP ${String(r.status)}: ${errorText(r.body)}`,
    );
  }
  return JSON.parse(r.body) as unknown;
}

/** GETs `path` on a pod's `port` through the API server; resolves to the body. */
export async function podProxyGet(
  kc: KubeConfig,
  namespace: string,
  pod: string,
  port: number,
  path: string,
  what: string,
): Promise<string> {
  const url = `/api/v1/namespaces/${namespace}/pods/${pod}:${String(port)}/proxy${path}`;
  const r = await request(kc, url);
  if (r.status !== 200) {
    throw new IstioLiteError(
      ErrorCode.External,
      `${what} pod ${namespace}/${pod} (port ${String(port)}) through the API server at ${server(kc)}: HTTP ${String(r.status)}: ${errorText(r.body)}`,
    );
  }
  return r.body;
}
