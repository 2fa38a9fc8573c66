/**
 * The agent's gRPC server for Envoy: one @grpc/grpc-js server bound to Unix sockets in the pod's
 * `istio-envoy` volume (XDS, SDS, MIXER), never a TCP port the application or traffic capture
 * could see. A socket file left by an earlier run is removed before binding.
 */
import { rm } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import { bindServer, stopServer } from '../../lib/grpc/server-lifecycle.ts';

export class LocalGrpcServer {
  readonly server = new grpc.Server({
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.keepalive_time_ms': 60_000,
  });
  private readonly bound: string[] = [];

  add(service: grpc.ServiceDefinition, handlers: grpc.UntypedServiceImplementation): void {
    this.server.addService(service, handlers);
  }

  /** Binds `unix:<path>` (or a `host:port` for tests); resolves to the bound port (0 for Unix). */
  async bind(address: string): Promise<number> {
    const target = address.startsWith('/') ? `unix:${address}` : address;
    if (address.startsWith('/')) await rm(address, { force: true });
    const port = await bindServer(this.server, target, grpc.ServerCredentials.createInsecure());
    this.bound.push(address);
    return port;
  }

  async close(): Promise<void> {
    await stopServer(this.server, 2000);
    await Promise.all(
      this.bound.filter((a) => a.startsWith('/')).map((a) => rm(a, { force: true })),
    );
  }
}
