/**
 * Runs one application probe the way the kubelet would have: an HTTP GET that succeeds on
 * 200-399 (HTTPS without verifying the certificate, as the kubelet does), a TCP connect, or a
 * gRPC health Check that must answer SERVING. Each bounded by the probe's timeout. The result is
 * data: ok, and what happened, for the status server's response and logs.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { errorMessage } from '../../lib/errors.ts';
import { checkHealth, ServingStatus } from '../grpc/health.ts';
import type { AppProbe } from './probers.ts';

export interface ProbeResult {
  readonly ok: boolean;
  /** The application's HTTP status, when it answered one. */
  readonly httpStatus?: number;
  readonly detail: string;
}

function bracket(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function httpProbe(p: Extract<AppProbe, { kind: 'http' }>, host: string): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { 'user-agent': 'istio-lite-probe/1.0' };
    for (const h of p.headers) headers[h.name.toLowerCase()] = h.value;
    const options = {
      host: p.host ?? host,
      port: p.port,
      path: p.path,
      method: 'GET',
      headers,
      timeout: p.timeoutMs,
      rejectUnauthorized: false,
    };
    const req = (p.scheme === 'HTTPS' ? httpsRequest : httpRequest)(options, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve({
        ok: code >= 200 && code < 400,
        httpStatus: code,
        detail: `HTTP ${code} from ${p.scheme.toLowerCase()}://${bracket(options.host)}:${p.port}${p.path}`,
      });
    });
    req.on('timeout', () => {
      req.destroy(new Error(`timed out after ${p.timeoutMs} ms`));
    });
    req.on('error', (e) => {
      resolve({ ok: false, detail: `GET ${p.path} on port ${p.port}: ${e.message}` });
    });
    req.end();
  });
}

function tcpProbe(p: Extract<AppProbe, { kind: 'tcp' }>, host: string): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const target = p.host ?? host;
    const socket = connect({ host: target, port: p.port });
    const done = (r: ProbeResult) => {
      socket.destroy();
      resolve(r);
    };
    socket.setTimeout(p.timeoutMs, () => {
      done({ ok: false, detail: `connect to ${target}:${p.port} timed out` });
    });
    socket.on('connect', () => {
      done({ ok: true, detail: `connected to ${target}:${p.port}` });
    });
    socket.on('error', (e) => {
      done({ ok: false, detail: `connect to ${target}:${p.port}: ${e.message}` });
    });
  });
}

async function grpcProbe(
  p: Extract<AppProbe, { kind: 'grpc' }>,
  host: string,
): Promise<ProbeResult> {
  try {
    const s = await checkHealth(`${bracket(host)}:${p.port}`, p.service, p.timeoutMs);
    const name = Object.entries(ServingStatus).find(([, v]) => v === s)?.[0] ?? String(s);
    return { ok: s === ServingStatus.SERVING, detail: `gRPC health of "${p.service}": ${name}` };
  } catch (e) {
    return {
      ok: false,
      detail: `gRPC health of "${p.service}" on port ${p.port}: ${errorMessage(e)}`,
    };
  }
}

/** Runs `probe` against the application at `host` (the pod IP, unless the probe names a host). */
export function runProbe(probe: AppProbe, host: string): Promise<ProbeResult> {
  switch (probe.kind) {
    case 'http':
      return httpProbe(probe, host);
    case 'tcp':
      return tcpProbe(probe, host);
    case 'grpc':
      return grpcProbe(probe, host);
  }
}
