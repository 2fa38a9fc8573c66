/**
 * A real Eureka server for tests: the Spring Boot jar built from e2e/eureka-server (npm test builds
 * it first; scripts/build-binaries.sh eureka), run by `java` on loopback and a free port. It does
 * not register with or fetch from any peer, keeps no self-preservation, and answers reads from the
 * live registry (not the 30 s read-only cache), so a registration shows up at once. `stop` and
 * `start` again keep the port; a restarted server starts empty, as a real one without peers does.
 *
 * The helpers speak Eureka's REST API the way Eureka clients do: register (POST, 204), heartbeat
 * (PUT), status override (PUT …/status?value=), cancel (DELETE) under `/eureka/apps`. The server
 * answers the same API under `/eureka/v2/apps` too.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findBinary, missingBinaryError } from '../../lib/local-cluster/binaries.ts';
import { freePort } from '../../lib/free-ports.ts';
import { ServerProcess } from './server-process.ts';

export function hasJava(): boolean {
  return spawnSync('java', ['-version']).status === 0;
}

export type EurekaStatus = 'UP' | 'DOWN' | 'STARTING' | 'OUT_OF_SERVICE' | 'UNKNOWN';

/** What a test registers: an instance of app `app` (Eureka upper-cases application names). */
export interface EurekaInstanceSpec {
  readonly app: string;
  /** Unique per app; by convention `host:app:port`. */
  readonly instanceId: string;
  readonly ipAddr: string;
  /** Defaults to ipAddr. */
  readonly hostName?: string;
  /** The plain port; omitted: not enabled. */
  readonly port?: number;
  /** The secure port; omitted: not enabled. */
  readonly securePort?: number;
  readonly status?: EurekaStatus;
  /** Defaults to the app name in lower case. */
  readonly vipAddress?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

/** An instance as the server returns it (the fields the tests read). */
export interface EurekaInstance {
  readonly instanceId: string;
  readonly app: string;
  readonly hostName: string;
  readonly ipAddr: string;
  readonly status: EurekaStatus;
  readonly overriddenStatus?: EurekaStatus;
  readonly port: { readonly $: number; readonly '@enabled': 'true' | 'false' };
  readonly securePort: { readonly $: number; readonly '@enabled': 'true' | 'false' };
  readonly vipAddress?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface EurekaApplication {
  readonly name: string;
  readonly instance: readonly EurekaInstance[];
}

/** The JSON body of a registration (`POST /eureka/apps/APP`). */
export function eurekaRegistration(spec: EurekaInstanceSpec): unknown {
  const port = (p: number | undefined): { $: number; '@enabled': string } => ({
    $: p ?? 0,
    '@enabled': p === undefined ? 'false' : 'true',
  });
  return {
    instance: {
      instanceId: spec.instanceId,
      hostName: spec.hostName ?? spec.ipAddr,
      app: spec.app.toUpperCase(),
      ipAddr: spec.ipAddr,
      status: spec.status ?? 'UP',
      port: port(spec.port),
      securePort: port(spec.securePort),
      vipAddress: spec.vipAddress ?? spec.app.toLowerCase(),
      dataCenterInfo: {
        '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo',
        name: 'MyOwn',
      },
      metadata: spec.metadata ?? {},
    },
  };
}

export class TestEureka {
  private tempDir: string | undefined;
  port = 0;
  private proc: ServerProcess | undefined;

  /** Its temp dir (data and log), made at the first start; `remove` deletes it. */
  get dir(): string {
    this.tempDir ??= mkdtempSync(join(tmpdir(), 'istio-lite-eureka-'));
    return this.tempDir;
  }

  /** The service URL clients are given: `http://127.0.0.1:PORT/eureka`. */
  get url(): string {
    return `http://127.0.0.1:${String(this.port)}/eureka`;
  }

  /** The running server's process id (undefined when stopped). */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /**
   * Starts the server and waits until it answers `GET /eureka/apps` (~15 s on an idle machine, a
   * minute when busy). On the first start, a port taken meanwhile means another port and a retry.
   */
  async start(timeoutMs = 180_000): Promise<void> {
    const jar = findBinary('eureka');
    if (jar === undefined) throw missingBinaryError('eureka', process.env);
    const fixed = this.port !== 0;
    for (let attempt = 1; ; attempt++) {
      if (!fixed) this.port = await freePort();
      try {
        await this.launch(jar, timeoutMs);
        return;
      } catch (e) {
        if (fixed || attempt >= 3 || !/already in use/.test(String(e))) throw e;
      }
    }
  }

  private async launch(jar: string, timeoutMs: number): Promise<void> {
    const port = String(this.port);
    const self = `http://127.0.0.1:${port}/eureka/`;
    const proc = new ServerProcess(
      'java',
      [
        '-Xmx256m',
        '-XX:TieredStopAtLevel=1', // C1 only: starts faster; a test server has no hot path
        '-XX:+UseSerialGC',
        '-jar',
        jar,
        '--server.address=127.0.0.1',
        `--server.port=${port}`,
        '--spring.main.banner-mode=off',
        '--eureka.client.register-with-eureka=false',
        '--eureka.client.fetch-registry=false',
        // Its only peer is itself (dropped as "this is my URL"): no replication to localhost:8761.
        `--eureka.client.service-url.defaultZone=${self}`,
        '--eureka.instance.hostname=127.0.0.1',
        '--eureka.server.enable-self-preservation=false',
        // Reads from the live registry, not a cache refreshed every 30 s.
        '--eureka.server.use-read-only-response-cache=false',
        // The read-write cache behind it is invalidated on every registration, but a GET that
        // was already loading it when a registration landed stores the older view, kept until
        // the entry expires (180 s by default): two registrations in a row can leave the second
        // unseen for minutes. A short expiry bounds that to a second.
        '--eureka.server.response-cache-auto-expiration-in-seconds=1',
      ],
      join(this.dir, 'eureka.log'),
    );
    this.proc = proc;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (proc.exit !== undefined) {
        this.proc = undefined;
        throw new Error(`eureka server on ${port} ${proc.exit}:\n${proc.logTail()}`);
      }
      if (await this.answers()) return;
      await sleep(250);
    }
    await this.stop();
    throw new Error(
      `eureka server on ${port} not ready in ${String(timeoutMs)} ms:\n${proc.logTail()}`,
    );
  }

  /** Kills the server (SIGKILL) and waits until it is gone. */
  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    await p?.kill();
  }

  /** Stops and starts it again on the same port, with an empty registry. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async remove(): Promise<void> {
    await this.stop();
    if (this.tempDir !== undefined) rmSync(this.tempDir, { recursive: true, force: true });
    this.tempDir = undefined;
  }

  private async answers(): Promise<boolean> {
    try {
      const r = await fetch(`${this.url}/apps`, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(2_000),
      });
      await r.body?.cancel();
      return r.ok;
    } catch {
      return false;
    }
  }

  private async call(method: string, path: string, body?: unknown): Promise<Response> {
    const init: RequestInit = { method, headers: { accept: 'application/json' } };
    if (body !== undefined) {
      init.headers = { accept: 'application/json', 'content-type': 'application/json' };
      init.body = JSON.stringify(body);
    }
    return fetch(`${this.url}${path}`, init);
  }

  private async expect(method: string, path: string, want: number, body?: unknown): Promise<void> {
    const r = await this.call(method, path, body);
    const text = await r.text();
    if (r.status !== want) {
      throw new Error(`eureka ${method} ${path}: ${String(r.status)} ${text}`);
    }
  }

  private static instancePath(app: string, instanceId: string): string {
    return `/apps/${encodeURIComponent(app.toUpperCase())}/${encodeURIComponent(instanceId)}`;
  }

  /** Registers (or replaces) an instance: `POST /eureka/apps/APP` → 204. */
  async register(spec: EurekaInstanceSpec): Promise<void> {
    const path = `/apps/${encodeURIComponent(spec.app.toUpperCase())}`;
    await this.expect('POST', path, 204, eurekaRegistration(spec));
  }

  /** Renews the lease: `PUT /eureka/apps/APP/ID` → 200 (404 when the server does not know it). */
  async heartbeat(app: string, instanceId: string): Promise<void> {
    await this.expect('PUT', TestEureka.instancePath(app, instanceId), 200);
  }

  /** Overrides the status (`OUT_OF_SERVICE`, `UP`, …): `PUT …/status?value=STATUS` → 200. */
  async setStatus(app: string, instanceId: string, status: EurekaStatus): Promise<void> {
    const path = `${TestEureka.instancePath(app, instanceId)}/status?value=${status}`;
    await this.expect('PUT', path, 200);
  }

  /**
   * Removes the status override: `DELETE …/status?value=STATUS` → 200. The instance then has
   * `status` (without `value` the server sets UNKNOWN until the instance registers again).
   */
  async clearStatus(app: string, instanceId: string, status: EurekaStatus = 'UP'): Promise<void> {
    const path = `${TestEureka.instancePath(app, instanceId)}/status?value=${status}`;
    await this.expect('DELETE', path, 200);
  }

  /** Cancels the instance: `DELETE /eureka/apps/APP/ID` → 200. */
  async deregister(app: string, instanceId: string): Promise<void> {
    await this.expect('DELETE', TestEureka.instancePath(app, instanceId), 200);
  }

  /** Every application: `GET /eureka/apps`. */
  async apps(): Promise<readonly EurekaApplication[]> {
    const r = await this.call('GET', '/apps');
    if (!r.ok) throw new Error(`eureka GET /apps: ${String(r.status)} ${await r.text()}`);
    const body = (await r.json()) as { applications: { application: EurekaApplication[] } };
    return body.applications.application;
  }

  /** One application's instances (`GET /eureka/apps/APP`); undefined when it has none (404). */
  async app(name: string): Promise<EurekaApplication | undefined> {
    const r = await this.call('GET', `/apps/${encodeURIComponent(name.toUpperCase())}`);
    if (r.status === 404) {
      await r.body?.cancel();
      return undefined;
    }
    if (!r.ok) throw new Error(`eureka GET /apps/${name}: ${String(r.status)} ${await r.text()}`);
    return ((await r.json()) as { application: EurekaApplication }).application;
  }
}
