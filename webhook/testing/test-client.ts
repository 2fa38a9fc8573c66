/**
 * An HTTPS client for the webhook's unit tests: POSTs a body to `/inject` or GETs a path on
 * 127.0.0.1, trusting `ca`, and returns the status, body and the fingerprint of the certificate
 * the server presented. `review` builds an AdmissionReview for a Pod, `responseOf` reads one back.
 */
import { request, type Agent } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { isObject, type JsonObject } from '../../lib/json.ts';

export interface Reply {
  readonly status: number;
  readonly body: string;
  /** SHA-256 fingerprint of the server's certificate on this connection. */
  readonly peerFingerprint: string;
}

export function post(
  port: number,
  ca: string,
  body: string | Buffer,
  contentType = 'application/json',
  agent?: Agent,
): Promise<Reply> {
  return send(port, ca, 'POST', '/inject', body, contentType, agent);
}

export function get(port: number, ca: string, path: string, agent?: Agent): Promise<Reply> {
  return send(port, ca, 'GET', path, undefined, undefined, agent);
}

function send(
  port: number,
  ca: string,
  method: string,
  path: string,
  body: string | Buffer | undefined,
  contentType: string | undefined,
  agent: Agent | undefined,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        ca,
        agent: agent ?? false,
        headers: contentType === undefined ? {} : { 'content-type': contentType },
      },
      (res) => {
        const peerFingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
        let data = '';
        res.on('data', (d: Buffer) => (data += d.toString()));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: data, peerFingerprint });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** An AdmissionReview v1 request for `object` as a Pod CREATE. */
export function review(object: JsonObject, uid = 'uid-1', namespace = 'shop'): JsonObject {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      namespace,
      operation: 'CREATE',
      object,
    },
  };
}

/** The `response` of an AdmissionReview body. */
export function responseOf(body: string): JsonObject {
  const v: unknown = JSON.parse(body);
  if (!isObject(v) || !isObject(v['response']))
    throw new Error(`not an AdmissionReview response: ${body}`);
  return v['response'];
}
