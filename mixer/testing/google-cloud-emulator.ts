/**
 * A stand-in for Cloud Monitoring and Cloud Logging for the stackdriver adapter's tests: no
 * Google endpoint is reachable here, so a local gRPC server implements the two methods the adapter
 * calls, google.monitoring.v3.MetricService/CreateTimeSeries and
 * google.logging.v2.LoggingServiceV2/WriteLogEntries, from Google's published protos as the
 * client packages ship them (loaded with @grpc/proto-loader), on 127.0.0.1, plaintext or TLS. It
 * keeps every request with its metadata (authorization, x-goog-api-key) for the test to check.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  Server,
  ServerCredentials,
  loadPackageDefinition,
  type GrpcObject,
  type Metadata,
  type ServiceClientConstructor,
  type sendUnaryData,
  type ServerUnaryCall,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { bindServer, stopServer } from '../../lib/grpc/server-lifecycle.ts';

const require = createRequire(import.meta.url);

/** The root of an installed package, found from its main module (`…/build/src/index.js`). */
function packageRoot(main: string, name: string): string {
  let dir = dirname(main);
  while (!dir.endsWith(join('node_modules', ...name.split('/')))) dir = dirname(dir);
  return dir;
}

function protoDirs(): { monitoring: string; logging: string; common: string } {
  const monitoringMain = require.resolve('@google-cloud/monitoring');
  const loggingMain = require.resolve('@google-cloud/logging');
  const fromLogging = createRequire(loggingMain);
  const gax = packageRoot(createRequire(monitoringMain).resolve('google-gax'), 'google-gax');
  const loggingApi = packageRoot(
    fromLogging.resolve('@google-cloud/logging-api'),
    '@google-cloud/logging-api',
  );
  return {
    monitoring: join(packageRoot(monitoringMain, '@google-cloud/monitoring'), 'build', 'protos'),
    logging: join(loggingApi, 'build', 'protos'),
    common: join(gax, 'build', 'protos'),
  };
}

function service(root: GrpcObject, path: string): ServiceClientConstructor {
  let v: unknown = root;
  for (const k of path.split('.')) v = (v as Record<string, unknown>)[k];
  return v as ServiceClientConstructor;
}

export interface Received<T> {
  readonly request: T;
  readonly metadata: Metadata;
}

export interface TimeSeriesRequest {
  readonly name: string;
  readonly timeSeries: Record<string, unknown>[];
}

export interface WriteLogEntriesRequest {
  readonly entries: Record<string, unknown>[];
  readonly partialSuccess?: boolean;
}

export interface GoogleCloudEmulator {
  readonly port: number;
  readonly timeSeries: Received<TimeSeriesRequest>[];
  readonly logEntries: Received<WriteLogEntriesRequest>[];
  close(): Promise<void>;
}

export async function startGoogleCloudEmulator(tls?: {
  readonly cert: string;
  readonly key: string;
}): Promise<GoogleCloudEmulator> {
  const dirs = protoDirs();
  const options = { keepCase: false, longs: Number, enums: String, defaults: false, oneofs: true };
  const monitoring = loadPackageDefinition(
    loadSync('google/monitoring/v3/metric_service.proto', {
      ...options,
      includeDirs: [dirs.monitoring, dirs.common],
    }),
  );
  const logging = loadPackageDefinition(
    loadSync('google/logging/v2/logging.proto', {
      ...options,
      includeDirs: [dirs.logging, dirs.common],
    }),
  );
  const timeSeries: Received<TimeSeriesRequest>[] = [];
  const logEntries: Received<WriteLogEntriesRequest>[] = [];
  const server = new Server();
  server.addService(service(monitoring, 'google.monitoring.v3.MetricService').service, {
    CreateTimeSeries(
      call: ServerUnaryCall<TimeSeriesRequest, object>,
      done: sendUnaryData<object>,
    ) {
      timeSeries.push({ request: call.request, metadata: call.metadata });
      done(null, {});
    },
  });
  server.addService(service(logging, 'google.logging.v2.LoggingServiceV2').service, {
    WriteLogEntries(
      call: ServerUnaryCall<WriteLogEntriesRequest, object>,
      done: sendUnaryData<object>,
    ) {
      logEntries.push({ request: call.request, metadata: call.metadata });
      done(null, {});
    },
  });
  const creds = tls
    ? ServerCredentials.createSsl(null, [
        { cert_chain: Buffer.from(tls.cert), private_key: Buffer.from(tls.key) },
      ])
    : ServerCredentials.createInsecure();
  const port = await bindServer(server, '127.0.0.1:0', creds);
  return { port, timeSeries, logEntries, close: () => stopServer(server, 1000) };
}
