/**
 * A real Jaeger for the tracing tests: Jaeger v2 (`cmd/jaeger`, an OpenTelemetry collector build;
 * npm test builds it first: scripts/build-binaries.sh jaeger) with a config of our own instead of
 * its all-in-one defaults, which listen on every interface and fixed ports: only a Zipkin receiver
 * (`POST /api/v2/spans`, what Envoy, the agent and Mixer send), in-memory storage and the query
 * service (HTTP API and its gRPC port, which it always opens), each on a free loopback port; no
 * collector metrics endpoint. Facts: docs/reference/tracing.md, "Jaeger (the tests' collector)".
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePorts } from '../../lib/free-ports.ts';
import { findBinary, missingBinaryError } from '../../lib/local-cluster/binaries.ts';
import { ServerProcess } from './server-process.ts';

/** A span as Jaeger's query API (`GET /api/traces/ID`) returns it. */
export interface JaegerSpan {
  readonly traceID: string;
  readonly spanID: string;
  readonly operationName: string;
  readonly references: readonly {
    readonly refType: string;
    readonly traceID: string;
    readonly spanID: string;
  }[];
  readonly processID: string;
  readonly tags: readonly { readonly key: string; readonly value: unknown }[];
}

export interface JaegerTrace {
  readonly traceID: string;
  readonly spans: readonly JaegerSpan[];
  readonly processes: Readonly<Record<string, { readonly serviceName: string }>>;
}

interface JaegerPorts {
  readonly zipkin: number;
  readonly queryHttp: number;
  readonly queryGrpc: number;
}

function config(p: JaegerPorts): string {
  const at = (port: number) => `127.0.0.1:${String(port)}`;
  return `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [zipkin]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: info
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 10000
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: ${at(p.queryHttp)}
    grpc:
      endpoint: ${at(p.queryGrpc)}
receivers:
  zipkin:
    endpoint: ${at(p.zipkin)}
processors:
  batch:
    timeout: 50ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`;
}

export class TestJaeger {
  private tempDir: string | undefined;
  private ports: JaegerPorts | undefined;
  private proc: ServerProcess | undefined;

  get dir(): string {
    this.tempDir ??= mkdtempSync(join(tmpdir(), 'istio-lite-jaeger-'));
    return this.tempDir;
  }

  private get p(): JaegerPorts {
    if (this.ports === undefined) throw new Error('jaeger has not been started');
    return this.ports;
  }

  /** The Zipkin receiver as host:port (`--zipkinAddress`, the mesh's `zipkinAddress`). */
  get zipkinAddress(): string {
    return `127.0.0.1:${String(this.p.zipkin)}`;
  }

  /** The Zipkin v2 spans endpoint (Mixer's `--zipkinURL`). */
  get zipkinUrl(): string {
    return `http://${this.zipkinAddress}/api/v2/spans`;
  }

  /** The query service's HTTP API. */
  get queryUrl(): string {
    return `http://127.0.0.1:${String(this.p.queryHttp)}`;
  }

  /** Starts Jaeger and waits until both its Zipkin receiver and its query API answer. */
  async start(timeoutMs = 60_000): Promise<void> {
    const binary = findBinary('jaeger');
    if (binary === undefined) throw missingBinaryError('jaeger', process.env);
    for (let attempt = 1; ; attempt++) {
      const [zipkin, queryHttp, queryGrpc] = await freePorts(3);
      if (zipkin === undefined || queryHttp === undefined || queryGrpc === undefined) {
        throw new Error('no free ports');
      }
      this.ports = { zipkin, queryHttp, queryGrpc };
      try {
        await this.launch(binary, timeoutMs);
        return;
      } catch (e) {
        if (attempt >= 3 || !/address already in use/.test(String(e))) throw e;
      }
    }
  }

  private async launch(binary: string, timeoutMs: number): Promise<void> {
    const file = join(this.dir, 'config.yaml');
    writeFileSync(file, config(this.p));
    const proc = new ServerProcess(binary, ['--config', file], join(this.dir, 'jaeger.log'));
    this.proc = proc;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (proc.exit !== undefined) {
        this.proc = undefined;
        throw new Error(`jaeger ${proc.exit}:\n${proc.logTail()}`);
      }
      if (await this.ready()) return;
      await sleep(100);
    }
    await this.stop();
    throw new Error(`jaeger not ready after ${String(timeoutMs)} ms:\n${proc.logTail()}`);
  }

  private async ready(): Promise<boolean> {
    try {
      const signal = AbortSignal.timeout(2000);
      const spans = await fetch(this.zipkinUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '[]',
        signal,
      });
      await spans.arrayBuffer();
      const services = await fetch(`${this.queryUrl}/api/services`, { signal });
      await services.arrayBuffer();
      return spans.status === 202 && services.ok;
    } catch {
      return false;
    }
  }

  /** A trace by id (hex, as Zipkin sends it), or undefined while Jaeger does not have it. */
  async trace(traceId: string): Promise<JaegerTrace | undefined> {
    const r = await fetch(`${this.queryUrl}/api/traces/${traceId}`, {
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await r.json()) as { data?: JaegerTrace[] | null };
    if (r.status === 404) return undefined;
    if (!r.ok) throw new Error(`jaeger GET /api/traces/${traceId}: ${String(r.status)}`);
    return body.data?.[0];
  }

  /** Recent traces with a span of `service` named `operation` (`GET /api/traces?service=`). */
  async findTraces(service: string, operation: string): Promise<JaegerTrace[]> {
    const q = new URLSearchParams({ service, operation, limit: '100', lookback: '1h' });
    const r = await fetch(`${this.queryUrl}/api/traces?${q.toString()}`, {
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await r.json()) as { data?: JaegerTrace[] | null };
    if (!r.ok) throw new Error(`jaeger GET /api/traces?${q.toString()}: ${String(r.status)}`);
    return body.data ?? [];
  }

  /** The service names Jaeger has spans of. */
  async services(): Promise<string[]> {
    const r = await fetch(`${this.queryUrl}/api/services`, { signal: AbortSignal.timeout(10_000) });
    const body = (await r.json()) as { data?: string[] | null };
    return body.data ?? [];
  }

  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    await p?.kill();
  }

  async remove(): Promise<void> {
    await this.stop();
    if (this.tempDir !== undefined) rmSync(this.tempDir, { recursive: true, force: true });
    this.tempDir = undefined;
  }
}
