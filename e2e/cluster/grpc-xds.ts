/**
 * Helpers for testing Pilot with a real proxyless gRPC client: a tiny echo service (JSON messages,
 * no .proto needed), backends that answer with their name, and a child process running
 * `@grpc/grpc-js-xds` (its bootstrap is read once per process, so each scenario gets its own).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import * as grpc from '@grpc/grpc-js';

const json = {
  serialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer): unknown => JSON.parse(b.toString('utf8')),
};

export const echoService: grpc.ServiceDefinition = {
  Who: {
    path: '/istiolite.test.Echo/Who',
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
};

const EchoClientCtor = grpc.makeGenericClientConstructor(echoService, 'Echo');

export interface EchoClient extends grpc.Client {
  Who(
    req: object,
    md: grpc.Metadata,
    opts: grpc.CallOptions,
    cb: grpc.requestCallback<{ backend: string }>,
  ): void;
}

export function echoClient(target: string): EchoClient {
  return new EchoClientCtor(target, grpc.credentials.createInsecure()) as unknown as EchoClient;
}

export interface Backend {
  readonly name: string;
  readonly host: string;
  port: number;
  calls: number;
  close(): Promise<void>;
}

/** A gRPC server answering Who with its name (after `delayMs`, for a slow backend). */
export async function startBackend(name: string, host: string, delayMs = 0): Promise<Backend> {
  const server = new grpc.Server();
  const backend: Backend = { name, host, port: 0, calls: 0, close: () => Promise.resolve() };
  server.addService(echoService, {
    Who: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => {
      backend.calls++;
      if (delayMs > 0) {
        setTimeout(() => {
          cb(null, { backend: name });
        }, delayMs).unref();
      } else {
        cb(null, { backend: name });
      }
    },
  });
  backend.port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:0`, grpc.ServerCredentials.createInsecure(), (err, port) => {
      if (err) reject(err);
      else resolve(port);
    });
  });
  backend.close = () =>
    new Promise<void>((resolve) => {
      server.tryShutdown(() => {
        resolve();
      });
    });
  return backend;
}

/** A non-loopback IPv4 address of this machine (EndpointSlices refuse loopback addresses). */
export function hostAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

export interface CallResult {
  /** When the call started (ms since epoch). */
  readonly t: number;
  readonly ok: boolean;
  readonly backend?: string;
  readonly code?: number;
  readonly details?: string;
  /** How long the call took. */
  readonly ms: number;
  /** Whether the call carried the `header` of XdsClientOptions. */
  readonly header: boolean;
}

export interface XdsClientOptions {
  readonly xdsPort: number;
  readonly target: string;
  readonly nodeId: string;
  readonly intervalMs: number;
  /** Extra node metadata (e.g. LABELS for `match.source`). */
  readonly metadata?: Readonly<Record<string, unknown>>;
  /** Sent as metadata on every `headerEvery`-th call (e.g. `['x-user', 'jason']`). */
  readonly header?: readonly [string, string];
  readonly headerEvery?: number;
}

/** A child process calling `target` every `intervalMs` through @grpc/grpc-js-xds. */
export class XdsClientProcess {
  readonly results: CallResult[] = [];
  readonly stderr: string[] = [];
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly exited: Promise<void>;

  constructor(o: XdsClientOptions) {
    const bootstrap = {
      xds_servers: [
        {
          server_uri: `127.0.0.1:${o.xdsPort}`,
          channel_creds: [{ type: 'insecure' }],
          server_features: ['xds_v3'],
        },
      ],
      node: { id: o.nodeId, metadata: { GENERATOR: 'grpc', ...o.metadata }, locality: {} },
    };
    const script = fileURLToPath(new URL('./grpc-xds-child.ts', import.meta.url));
    this.child = spawn(process.execPath, [script], {
      env: {
        ...process.env,
        GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(bootstrap),
        XDS_TARGET: o.target,
        CALL_INTERVAL_MS: String(o.intervalMs),
        CALL_HEADER: o.header ? o.header.join(':') : '',
        CALL_HEADER_EVERY: String(o.headerEvery ?? 1),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      this.results.push(JSON.parse(line) as CallResult);
    });
    createInterface({ input: this.child.stderr }).on('line', (line) => {
      this.stderr.push(line);
    });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', () => {
        resolve();
      });
    });
  }

  since(t: number): CallResult[] {
    return this.results.filter((r) => r.t >= t);
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    await this.exited;
  }
}
