/**
 * Mixer's gRPC server on 9091, transport only: Mixer v1 (Check, Report), Envoy's ext_authz, ALS
 * and RLS, each a thin call into mixer/api, errors mapped in lib/grpc/status.ts, every call wrapped by
 * the tracer (which honours incoming B3/W3C headers). Served on lib/h2 (lib/grpc/h2-server.ts:
 * a fraction of grpc-js's CPU per call). Plaintext, as Mixer in 0.2 (the sidecar's mTLS protects
 * it in a mesh).
 */
import { errorMessage, isIstioLiteError } from '../lib/errors.ts';
import { H2GrpcServer, type H2Handler } from '../lib/grpc/h2-server.ts';
import type { Logger } from '../lib/log.ts';
import { EnvoyService, envoyService } from '../lib/mixer/envoy-services.ts';
import { mixerService } from '../lib/mixer/protos.ts';
import { bufferOf } from '../lib/mixer/wire-reader.ts';
import type { HeaderGetter } from '../lib/tracing/types.ts';
import { accessLogs } from './api/access-log.ts';
import { authzCheck } from './api/ext-authz.ts';
import { mixerCheck, mixerReport } from './api/mixer-v1.ts';
import { shouldRateLimit } from './api/rate-limit.ts';
import type { MixerCore } from './core.ts';
import { toServiceError } from '../lib/grpc/status.ts';

/** Runs one call inside a span (see tracing.ts); the default runs it bare. */
export type CallTracer = <T>(
  method: string,
  metadata: HeaderGetter,
  run: () => Promise<T>,
) => Promise<T>;

const untraced: CallTracer = (_m, _md, run) => run();

export interface MixerGrpcServer {
  /** The bound port (0 until `listen` resolved). */
  readonly port: number;
  /** Binds host:port (port 0 picks one); resolves to the bound port. */
  listen(port: number, host?: string): Promise<number>;
  /** Stops accepting and lets calls (and access log streams) finish, forced after `graceMs`. */
  close(graceMs?: number): Promise<void>;
}

export interface MixerGrpcServerOptions {
  readonly core: MixerCore;
  readonly logger: Logger;
  readonly tracer?: CallTracer;
}

/** Binds a new server; one that cannot bind is shut down before the error is thrown. */
export async function startMixerGrpcServer(
  options: MixerGrpcServerOptions & { readonly port: number; readonly host?: string },
): Promise<MixerGrpcServer> {
  const server = createMixerGrpcServer(options);
  try {
    await server.listen(options.port, options.host);
  } catch (e) {
    await server.close(0);
    throw e;
  }
  return server;
}

/** The server with its services, not bound yet: register its `close` first, then `listen`. */
export function createMixerGrpcServer(options: MixerGrpcServerOptions): MixerGrpcServer {
  const { core, logger } = options;
  const trace = options.tracer ?? untraced;
  const server = new H2GrpcServer({ maxReceiveMessageLength: 16 * 1024 * 1024 });

  const fail = (method: string, e: unknown) => {
    if (!isIstioLiteError(e)) logger.error({ method, err: e }, 'call failed');
    return toServiceError(e, 'internal error in Mixer');
  };
  const unary = (method: string, run: (request: unknown) => Promise<object>): H2Handler => ({
    unary: (request, call) =>
      trace(method, call.header, () => run(request)).catch((e: unknown) => {
        throw fail(method, e);
      }),
  });

  // Check and Report requests arrive as bytes and are decoded straight into attribute sets
  // (lib/mixer/wire-decode.ts), not through protobufjs objects: Mixer's busiest paths. Check
  // answers with bytes too (lib/mixer/check-response-wire.ts).
  const v1 = mixerService();
  const raw = (method: string) => {
    const def = v1[method];
    if (!def) throw new Error(`istio.mixer.v1.Mixer has no ${method}`);
    return { ...def, requestDeserialize: (bytes: Buffer) => bytes };
  };
  server.addService(
    { ...v1, Check: { ...raw('Check'), responseSerialize: bufferOf }, Report: raw('Report') },
    {
      Check: unary('istio.mixer.v1.Mixer/Check', (r) => mixerCheck(core, r)),
      Report: unary('istio.mixer.v1.Mixer/Report', (r) => mixerReport(core, r)),
    },
  );
  server.addService(envoyService(EnvoyService.Authorization), {
    Check: unary('envoy.service.auth.v3.Authorization/Check', (r) => authzCheck(core, r)),
  });
  server.addService(envoyService(EnvoyService.RateLimit), {
    ShouldRateLimit: unary('envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit', (r) =>
      shouldRateLimit(core, r),
    ),
  });
  const als = 'envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs';
  server.addService(envoyService(EnvoyService.AccessLog), {
    StreamAccessLogs: {
      clientStream: (call) => {
        // Entries are reported in order; the stream answers once Envoy closes it.
        let chain = Promise.resolve();
        let failed: unknown;
        return {
          message: (msg) => {
            chain = chain.then(() =>
              trace(als, call.header, () => accessLogs(core, msg)).then(
                () => undefined,
                (e: unknown) => {
                  failed ??= e;
                  logger.warn({ err: errorMessage(e) }, 'access log message rejected');
                },
              ),
            );
          },
          end: async () => {
            await chain;
            if (failed !== undefined) throw fail('StreamAccessLogs', failed);
            return {};
          },
        };
      },
    },
  });

  let bound = 0;
  return {
    get port() {
      return bound;
    },
    async listen(port, host = '0.0.0.0') {
      bound = await server.listen({ host, port });
      logger.info({ port: bound, host }, 'Mixer gRPC server listening');
      return bound;
    },
    close(graceMs = 10_000) {
      return server.close(graceMs);
    },
  };
}
