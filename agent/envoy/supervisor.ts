/**
 * Runs Envoy as a child process: starts it, restarts it with capped exponential backoff when it
 * dies (the backoff resets after a run that lasted), and on shutdown drains it (admin
 * `POST /drain_listeners?graceful`, then `drainMs` for connections to finish) before SIGTERM, and
 * SIGKILL after `stopGraceMs`. Envoy's stdout and stderr (JSON lines) are passed through.
 *
 * `live()` is a readiness check: Envoy is running and its admin `/ready` answered LIVE at the last
 * poll. `onExit` lets the agent forget what the dead Envoy had ACKed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../lib/log.ts';
import { Counter, Gauge, type Registry } from '../../lib/metrics.ts';

export interface EnvoySupervisorOptions {
  readonly binaryPath: string;
  readonly args: readonly string[];
  readonly adminPort: number;
  readonly logger: Logger;
  readonly metrics: Registry;
  /** Graceful drain window before Envoy is stopped. */
  readonly drainMs: number;
  /** How long Envoy may take to exit after SIGTERM before SIGKILL. */
  readonly stopGraceMs: number;
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /** A run at least this long resets the backoff (default 30 s). */
  readonly stableMs?: number;
  /** Admin `/ready` poll interval (default 1 s). */
  readonly pollMs?: number;
  readonly onExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
  readonly env?: NodeJS.ProcessEnv;
}

export class EnvoySupervisor {
  private readonly o: EnvoySupervisorOptions;
  private child: ChildProcess | undefined;
  private stopping = false;
  private delayMs: number;
  private adminLive = false;
  private poller: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly starts: Counter;
  private readonly up: Gauge;

  constructor(o: EnvoySupervisorOptions) {
    this.o = o;
    this.delayMs = o.backoff?.initialMs ?? 500;
    this.starts = new Counter({
      name: 'istio_agent_envoy_starts_total',
      help: 'times the agent started Envoy',
      registers: [o.metrics],
    });
    this.up = new Gauge({
      name: 'istio_agent_envoy_running',
      help: '1 while the Envoy process runs',
      registers: [o.metrics],
    });
  }

  start(): void {
    if (this.stopping || this.child) return;
    const startedAt = Date.now();
    const child = spawn(this.o.binaryPath, [...this.o.args], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: this.o.env ?? process.env,
    });
    this.child = child;
    this.adminLive = false;
    this.starts.inc();
    this.up.set(1);
    this.o.logger.info({ binary: this.o.binaryPath, pid: child.pid }, 'Envoy started');
    this.exited = new Promise<void>((resolve) => {
      const onGone = (code: number | null, signal: NodeJS.Signals | null, err?: Error) => {
        if (this.child !== child) return;
        this.child = undefined;
        this.adminLive = false;
        this.up.set(0);
        resolve();
        this.o.onExit?.(code, signal);
        if (this.stopping) {
          this.o.logger.info({ code, signal }, 'Envoy stopped');
          return;
        }
        if (Date.now() - startedAt >= (this.o.stableMs ?? 30_000)) {
          this.delayMs = this.o.backoff?.initialMs ?? 500;
        }
        const delay = this.delayMs;
        this.delayMs = Math.min(this.delayMs * 2, this.o.backoff?.maxMs ?? 30_000);
        this.o.logger.error(
          { code, signal, error: err?.message, restartInMs: delay },
          'Envoy exited; restarting',
        );
        this.restartTimer = setTimeout(() => {
          this.restartTimer = undefined;
          this.start();
        }, delay);
      };
      child.once('exit', (code, signal) => {
        onGone(code, signal);
      });
      child.once('error', (e) => {
        onGone(null, null, e);
      });
    });
    this.poller ??= setInterval(() => {
      void this.pollAdmin();
    }, this.o.pollMs ?? 1000);
    this.poller.unref();
  }

  private adminCall(
    method: 'GET' | 'POST',
    path: string,
    timeoutMs = 1000,
  ): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: this.o.adminPort, method, path, timeout: timeoutMs },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, body });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('admin request timed out')));
      req.on('error', reject);
      req.end();
    });
  }

  private async pollAdmin(): Promise<void> {
    if (!this.child) return;
    try {
      const r = await this.adminCall('GET', '/ready');
      this.adminLive = r.status === 200 && r.body.trim() === 'LIVE';
    } catch {
      this.adminLive = false;
    }
  }

  /** Readiness check: why Envoy is not live, or undefined. */
  live(): string | undefined {
    if (!this.child) return 'Envoy is not running';
    if (!this.adminLive) return 'Envoy admin /ready has not answered LIVE';
    return undefined;
  }

  pid(): number | undefined {
    return this.child?.pid;
  }

  /** Drain, stop, and never restart. */
  async drainAndStop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    clearInterval(this.poller);
    const child = this.child;
    if (!child) return;
    try {
      await this.adminCall('POST', '/drain_listeners?graceful', 2000);
      this.o.logger.info({ drainMs: this.o.drainMs }, 'Envoy draining');
      await Promise.race([sleep(this.o.drainMs), this.exited]);
    } catch (e) {
      this.o.logger.warn({ err: e }, 'could not ask Envoy to drain; stopping it now');
    }
    if (this.child !== child) return;
    child.kill('SIGTERM');
    const gone = await Promise.race([
      this.exited.then(() => true),
      sleep(this.o.stopGraceMs).then(() => false),
    ]);
    if (!gone) {
      this.o.logger.warn({ graceMs: this.o.stopGraceMs }, 'Envoy ignored SIGTERM; killing it');
      child.kill('SIGKILL');
      await this.exited;
    }
  }
}
