/**
 * The agent's gRPC servers for Envoy, bound to Unix sockets in the pod's `istio-envoy` volume,
 * never a TCP port the application or traffic capture could see: a @grpc/grpc-js server for the
 * streams (XDS, SDS) and our own HTTP/2 one (lib/grpc/h2-server.ts) for the MIXER socket, which
 * Envoy calls on every request (ext_authz) and for every access log stream. A socket file left
 * by an earlier run is removed before binding.
 */
import { rm } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import { H2GrpcServer, type H2Handler } from '../../lib/grpc/h2-server.ts';
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

/** The MIXER socket's server: unary and client-streaming methods on lib/h2. */
export class LocalH2Server {
  private readonly server = new H2GrpcServer({ maxReceiveMessageLength: 64 * 1024 * 1024 });
  private socket: string | undefined;

  add(service: grpc.ServiceDefinition, handlers: Readonly<Record<string, H2Handler>>): void {
    this.server.addService(service, handlers);
  }

  /** Binds a Unix socket path (or a `host:port` for tests); resolves to the port (0 for Unix). */
  async bind(address: string): Promise<number> {
    if (address.startsWith('/')) {
      await rm(address, { force: true });
      const port = await this.server.listen({ path: address });
      this.socket = address;
      return port;
    }
    const i = address.lastIndexOf(':');
    const host = address.slice(0, i).replace(/^\[(.*)\]$/, '$1');
    return this.server.listen({ host, port: Number(address.slice(i + 1)) });
  }

  async close(): Promise<void> {
    await this.server.close(2000);
    if (this.socket !== undefined) await rm(this.socket, { force: true });
  }
}
