/**
 * The application probes the injector moved to the agent: `ISTIO_KUBE_APP_PROBERS` is a JSON map
 * from `/app-health/<container>/readyz|livez|startupz` to the original action (webhook/probes.ts),
 * `httpGet`, `tcpSocket` or `grpc`, with its port resolved to a number and `timeoutSeconds`.
 * Parsed at start into typed probes; anything malformed is an error naming the path.
 */
import { ErrorCode, IstioLiteError } from '../../lib/errors.ts';
import { isObject, type JsonObject } from '../../lib/json.ts';

export type AppProbe =
  | {
      readonly kind: 'http';
      readonly host: string | undefined;
      readonly port: number;
      readonly path: string;
      readonly scheme: 'HTTP' | 'HTTPS';
      readonly headers: readonly { readonly name: string; readonly value: string }[];
      readonly timeoutMs: number;
    }
  | {
      readonly kind: 'tcp';
      readonly host: string | undefined;
      readonly port: number;
      readonly timeoutMs: number;
    }
  | {
      readonly kind: 'grpc';
      readonly port: number;
      readonly service: string;
      readonly timeoutMs: number;
    };

export type AppProbers = ReadonlyMap<string, AppProbe>;

const pathRe = /^\/app-health\/[a-z0-9]([-a-z0-9]*[a-z0-9])?\/(readyz|livez|startupz)$/;

function bad(path: string, message: string): IstioLiteError {
  return new IstioLiteError(ErrorCode.InvalidConfig, `${path}: ${message}`);
}

function portOf(path: string, o: JsonObject): number {
  const p = o['port'];
  if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 65535) {
    throw bad(path, `port ${JSON.stringify(p)} is not a port number (1-65535)`);
  }
  return p;
}

function hostOf(path: string, o: JsonObject): string | undefined {
  const h = o['host'];
  if (h === undefined || h === '') return undefined;
  if (typeof h !== 'string') throw bad(path, 'host must be a string');
  return h;
}

function parseOne(path: string, v: unknown): AppProbe {
  if (!pathRe.test(path))
    throw bad(path, 'not an /app-health/<container>/<readyz|livez|startupz> path');
  if (!isObject(v)) throw bad(path, 'must be an object');
  const t = v['timeoutSeconds'] ?? 1;
  if (typeof t !== 'number' || !(t > 0))
    throw bad(path, 'timeoutSeconds must be a positive number');
  const timeoutMs = t * 1000;
  const http = v['httpGet'];
  const tcp = v['tcpSocket'];
  const grpc = v['grpc'];
  if (isObject(http)) {
    const scheme = http['scheme'] ?? 'HTTP';
    if (scheme !== 'HTTP' && scheme !== 'HTTPS') throw bad(path, 'scheme must be HTTP or HTTPS');
    const p = http['path'] ?? '/';
    if (typeof p !== 'string') throw bad(path, 'httpGet.path must be a string');
    const rawHeaders = http['httpHeaders'] ?? [];
    if (!Array.isArray(rawHeaders)) throw bad(path, 'httpHeaders must be a list');
    const headers = rawHeaders.map((h) => {
      if (!isObject(h) || typeof h['name'] !== 'string' || typeof h['value'] !== 'string') {
        throw bad(path, 'each httpHeaders entry needs a string name and value');
      }
      return { name: h['name'], value: h['value'] };
    });
    return {
      kind: 'http',
      host: hostOf(path, http),
      port: portOf(path, http),
      path: p.startsWith('/') ? p : `/${p}`,
      scheme,
      headers,
      timeoutMs,
    };
  }
  if (isObject(tcp)) {
    return { kind: 'tcp', host: hostOf(path, tcp), port: portOf(path, tcp), timeoutMs };
  }
  if (isObject(grpc)) {
    const service = grpc['service'] ?? '';
    if (typeof service !== 'string') throw bad(path, 'grpc.service must be a string');
    return { kind: 'grpc', port: portOf(path, grpc), service, timeoutMs };
  }
  throw bad(path, 'needs one of httpGet, tcpSocket or grpc');
}

/** Parses the env var's value; '' means no probes. */
export function parseProbers(text: string): AppProbers {
  const out = new Map<string, AppProbe>();
  if (text.trim() === '') return out;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new IstioLiteError(ErrorCode.InvalidConfig, 'not valid JSON', { cause: e });
  }
  if (!isObject(v)) throw new IstioLiteError(ErrorCode.InvalidConfig, 'must be a JSON object');
  for (const [path, probe] of Object.entries(v)) out.set(path, parseOne(path, probe));
  return out;
}
