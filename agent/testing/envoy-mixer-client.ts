/**
 * Envoy's side of ext_authz and ALS, for tests and the bench: CheckRequests and access log
 * messages encoded with Envoy's protos (as Envoy would send them), to the agent's MIXER socket or
 * straight to Mixer. Responses are decoded with Envoy's protos too.
 */
import * as grpc from '@grpc/grpc-js';
import { decodeMessage, encodeMessage } from '../../lib/xds/protos.ts';
import { AccessLogService, AuthorizationService, rawClient } from '../grpc/raw-service.ts';
import { loadAgentProtos } from './envoy-protos.ts';

const AuthzClient = rawClient(AuthorizationService, 'Authorization');
const AlsClient = rawClient(AccessLogService, 'AccessLogService');

export interface AuthzAnswer {
  readonly code: number;
  readonly message: string;
  /** HTTP status name Envoy would send on a denial (`Forbidden`, `TooManyRequests`, ...). */
  readonly httpStatus: string | undefined;
}

export interface HttpCheck {
  readonly sourceIp?: string;
  readonly destinationIp?: string;
  readonly method?: string;
  readonly path: string;
  readonly host: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Attributes Envoy cannot see, as Pilot would configure them (`source.labels.app`...). */
  readonly context?: Readonly<Record<string, string>>;
}

export function checkRequest(c: HttpCheck): Uint8Array {
  loadAgentProtos();
  const sock = (address: string, port: number) => ({
    socket_address: { address, port_value: port },
  });
  return encodeMessage('envoy.service.auth.v3.CheckRequest', {
    attributes: {
      source: { address: sock(c.sourceIp ?? '10.1.0.1', 40000) },
      destination: { address: sock(c.destinationIp ?? '10.1.0.2', 9080) },
      request: {
        time: { seconds: Math.floor(Date.now() / 1000), nanos: 0 },
        http: {
          method: c.method ?? 'GET',
          path: c.path,
          host: c.host,
          scheme: 'http',
          headers: { ':authority': c.host, ':path': c.path, ...c.headers },
        },
      },
      context_extensions: { ...c.context },
    },
  });
}

export class EnvoyMixerClient {
  private readonly authz: grpc.Client;
  private readonly als: grpc.Client;

  /** `unix:/path/MIXER` or host:port. */
  constructor(target: string) {
    loadAgentProtos();
    this.authz = new AuthzClient(target, grpc.credentials.createInsecure());
    this.als = new AlsClient(target, grpc.credentials.createInsecure());
  }

  /**
   * One ext_authz Check with pre-encoded request bytes; `metadata` as Envoy's ext_authz client
   * sends it (a traced request's `x-b3-*` headers).
   */
  checkBytes(
    bytes: Uint8Array,
    deadlineMs = 5000,
    metadata?: Readonly<Record<string, string>>,
  ): Promise<AuthzAnswer> {
    const def = AuthorizationService['Check'];
    if (!def) return Promise.reject(new Error('no Check'));
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(metadata ?? {})) md.set(k, v);
    return new Promise((resolve, reject) => {
      this.authz.makeUnaryRequest(
        def.path,
        (b: Uint8Array) => Buffer.from(b),
        (b: Buffer) => b,
        bytes,
        md,
        { deadline: Date.now() + deadlineMs },
        (err, res) => {
          if (err || !res) {
            reject(err ?? new Error('no response'));
            return;
          }
          const o = decodeMessage('envoy.service.auth.v3.CheckResponse', res) as {
            status?: { code?: number; message?: string };
            denied_response?: { status?: { code?: string } };
          };
          resolve({
            code: o.status?.code ?? 0,
            message: o.status?.message ?? '',
            httpStatus: o.denied_response?.status?.code,
          });
        },
      );
    });
  }

  check(c: HttpCheck, metadata?: Readonly<Record<string, string>>): Promise<AuthzAnswer> {
    return this.checkBytes(checkRequest(c), 5000, metadata);
  }

  /** Streams access log messages (plain objects, Envoy's field names) and waits for the answer. */
  accessLogs(messages: readonly object[]): Promise<void> {
    const def = AccessLogService['StreamAccessLogs'];
    if (!def) return Promise.reject(new Error('no StreamAccessLogs'));
    return new Promise((resolve, reject) => {
      const call = this.als.makeClientStreamRequest(
        def.path,
        (b: Uint8Array) => Buffer.from(b),
        (b: Buffer) => b,
        (err) => {
          if (err) reject(err);
          else resolve();
        },
      );
      for (const m of messages)
        call.write(encodeMessage('envoy.service.accesslog.v3.StreamAccessLogsMessage', m));
      call.end();
    });
  }

  close(): void {
    this.authz.close();
    this.als.close();
  }
}

/** An ALS message with `n` HTTP entries (paths /r0.../r<n-1>), as Envoy batches them. */
export function httpLogMessage(n: number, from = 0, first = true): object {
  const sock = (address: string, port: number) => ({
    socket_address: { address, port_value: port },
  });
  return {
    ...(first
      ? {
          identifier: {
            node: { id: 'sidecar~10.1.0.1~p.shop~shop.svc.cluster.local' },
            log_name: 'istio-lite-mixer-report',
          },
        }
      : {}),
    http_logs: {
      log_entry: Array.from({ length: n }, (_, i) => ({
        common_properties: {
          downstream_remote_address: sock('10.1.0.1', 40000),
          downstream_local_address: sock('10.1.0.2', 9080),
          start_time: { seconds: Math.floor(Date.now() / 1000), nanos: 0 },
          time_to_last_downstream_tx_byte: { seconds: 0, nanos: 3_000_000 },
          upstream_cluster: 'inbound|9080||reviews.shop.svc.cluster.local',
        },
        request: {
          request_method: 'GET',
          authority: 'reviews:9080',
          path: `/r${i + from}`,
          request_id: `id-${i + from}`,
        },
        response: { response_code: { value: 200 }, response_body_bytes: 10 },
      })),
    },
  };
}
