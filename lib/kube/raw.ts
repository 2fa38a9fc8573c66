/**
 * A raw request to the API server with the kubeconfig's own TLS and credentials: the body goes
 * as it is. client-node serializes objects of kinds it has models for through those models,
 * which drops fields the models do not know (a CRD's `enum`, `x-kubernetes-validations`); raw
 * requests keep them.
 */
import { request, type RequestOptions } from 'node:https';
import type { KubeCredentials } from './credentials.ts';
import { ErrorCode, IstioLiteError } from '../errors.ts';

export interface RawResponse {
  readonly status: number;
  readonly body: string;
}

export async function kubeRequest(
  kc: KubeCredentials,
  method: string,
  path: string,
  body?: string,
  contentType = 'application/json',
): Promise<RawResponse> {
  const server = kc.getCurrentCluster()?.server;
  if (server === undefined) {
    throw new IstioLiteError(ErrorCode.InvalidConfig, 'kubeconfig has no current cluster');
  }
  const opts: RequestOptions = {
    method,
    headers: {
      Accept: 'application/json',
      ...(body === undefined ? {} : { 'Content-Type': contentType }),
    },
  };
  await kc.applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, server), opts, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: text });
      });
    });
    req.on('error', (e) => {
      reject(
        new IstioLiteError(ErrorCode.External, `${method} ${path}: ${e.message}`, { cause: e }),
      );
    });
    req.end(body);
  });
}
