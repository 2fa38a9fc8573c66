/**
 * A Mixer for tests: the mixer/examples config (or given objects) loaded, its gRPC server and its
 * Prometheus endpoint on loopback port 0, real clients for Mixer v1 and Envoy's services.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import { Client, Metadata, credentials, type ServiceError } from '@grpc/grpc-js';
import { opsHandler } from '../../lib/ops-server.ts';
import { unaryClient, type UnaryCaller } from '../../lib/grpc/services.ts';
import { EnvoyService, envoyService } from '../../lib/mixer/envoy-services.ts';
import { mixerService } from '../../lib/mixer/protos.ts';
import type { ConfigObject } from '../config/objects.ts';
import { MixerCore } from '../core.ts';
import { defaultCheckPolicy, type CheckPolicy } from '../dispatch/check.ts';
import { startMixerGrpcServer, type CallTracer, type MixerGrpcServer } from '../grpc-server.ts';
import { createMixerMetrics } from '../metrics.ts';
import type { Adapter } from '../adapter.ts';
import { exampleObjects, harness, type Harness } from './harness.ts';

export interface TestMixer extends Harness {
  readonly grpc: MixerGrpcServer;
  readonly address: string;
  readonly metricsUrl: string;
  readonly mixer: UnaryCaller;
  readonly authz: UnaryCaller;
  readonly rls: UnaryCaller;
  /** Streams ALS messages, then closes the stream and waits for the answer. */
  accessLogs(messages: readonly object[]): Promise<void>;
  scrape(): Promise<string>;
  close(): Promise<void>;
}

export async function startTestMixer(
  options: {
    objects?: readonly ConfigObject[];
    policy?: Partial<CheckPolicy>;
    extraAdapters?: readonly Adapter[];
    tracer?: CallTracer;
  } = {},
): Promise<TestMixer> {
  const h = harness({ ...(options.extraAdapters ? { extraAdapters: options.extraAdapters } : {}) });
  await h.controller.replaceAll(options.objects ?? exampleObjects());
  const core = new MixerCore({
    controller: h.controller,
    policy: { ...defaultCheckPolicy, ...options.policy },
    metrics: createMixerMetrics(h.metrics),
    logger: h.logger,
  });
  const grpc = await startMixerGrpcServer({
    core,
    logger: h.logger,
    port: 0,
    host: '127.0.0.1',
    ...(options.tracer ? { tracer: options.tracer } : {}),
  });
  const address = `127.0.0.1:${String(grpc.port)}`;
  const http: HttpServer = await new Promise((resolve) => {
    const s = createServer(opsHandler(h.metrics, () => undefined)).listen(0, '127.0.0.1', () => {
      resolve(s);
    });
  });
  const httpPort = (http.address() as { port: number }).port;
  const creds = credentials.createInsecure();
  const clients = [
    unaryClient(mixerService(), address, creds),
    unaryClient(envoyService(EnvoyService.Authorization), address, creds),
    unaryClient(envoyService(EnvoyService.RateLimit), address, creds),
  ];
  const als = new Client(address, creds);
  const alsDef = envoyService(EnvoyService.AccessLog)['StreamAccessLogs'];
  if (!alsDef) throw new Error('no StreamAccessLogs');
  const [mixer, authz, rls] = clients.map((c) => c.call) as [UnaryCaller, UnaryCaller, UnaryCaller];
  return {
    ...h,
    grpc,
    address,
    metricsUrl: `http://127.0.0.1:${String(httpPort)}/metrics`,
    mixer,
    authz,
    rls,
    accessLogs(messages) {
      return new Promise((resolve, reject) => {
        const stream = als.makeClientStreamRequest(
          alsDef.path,
          (v: object) => alsDef.requestSerialize(v),
          (b: Buffer): unknown => alsDef.responseDeserialize(b),
          new Metadata(),
          {},
          (err: ServiceError | null) => {
            if (err) reject(err);
            else resolve();
          },
        );
        for (const m of messages) stream.write(m);
        stream.end();
      });
    },
    async scrape() {
      const res = await fetch(`http://127.0.0.1:${String(httpPort)}/metrics`);
      return res.text();
    },
    async close() {
      for (const c of clients) c.close();
      als.close();
      await grpc.close(1000);
      await new Promise<void>((resolve) => {
        http.close(() => {
          resolve();
        });
      });
      await h.controller.close();
    },
  };
}
