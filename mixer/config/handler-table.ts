/**
 * Handlers live across configuration changes: one whose kind and spec did not change is reused
 * (memquota keeps its counters, prometheus its values), a changed one is created anew, and
 * handlers that are gone are flushed and closed only after the new snapshot is in use.
 */
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { specReader, type Adapter, type Handler, type HandlerEnv } from '../adapter.ts';
import type { AdapterRegistry } from '../adapter-registry.ts';
import { fullName, type ConfigObject, type ConfigProblem } from './objects.ts';

export interface LiveHandler {
  readonly name: string;
  readonly adapter: Adapter;
  readonly handler: Handler;
  readonly specKey: string;
}

export interface HandlerUpdate {
  readonly handlers: ReadonlyMap<string, LiveHandler>;
  readonly problems: readonly ConfigProblem[];
  /** Makes the update current: closes handlers no longer used. */
  commit(): Promise<void>;
}

export class HandlerTable {
  private current = new Map<string, LiveHandler>();
  private readonly registry: AdapterRegistry;
  private readonly envFor: (name: string) => HandlerEnv;
  private readonly logger: Logger;

  constructor(registry: AdapterRegistry, envFor: (name: string) => HandlerEnv, logger: Logger) {
    this.registry = registry;
    this.envFor = envFor;
    this.logger = logger;
  }

  live(): ReadonlyMap<string, LiveHandler> {
    return this.current;
  }

  update(objects: readonly ConfigObject[]): HandlerUpdate {
    const next = new Map<string, LiveHandler>();
    const problems: ConfigProblem[] = [];
    for (const o of objects) {
      const adapter = this.registry.get(o.kind);
      if (!adapter) continue;
      const name = fullName(o);
      const specKey = JSON.stringify(o.spec ?? {});
      const old = this.current.get(name);
      if (old && old.specKey === specKey && old.adapter === adapter) {
        next.set(name, old);
        continue;
      }
      try {
        const handler = adapter.create(specReader(o.spec), this.envFor(name));
        next.set(name, { name, adapter, handler, specKey });
      } catch (e) {
        problems.push({
          kind: o.kind,
          namespace: o.namespace,
          name: o.name,
          message: errorMessage(e),
        });
      }
    }
    const previous = this.current;
    return {
      handlers: next,
      problems,
      commit: async () => {
        this.current = next;
        const gone = [...previous.values()].filter((h) => next.get(h.name) !== h);
        await Promise.all(gone.map((h) => this.closeOne(h)));
      },
    };
  }

  /** Flushes every live handler (SIGTERM, before exit). */
  async flushAll(): Promise<void> {
    await Promise.all(
      [...this.current.values()].map(async (h) => {
        try {
          await h.handler.flush?.();
        } catch (e) {
          this.logger.warn({ handler: h.name, err: errorMessage(e) }, 'flush failed');
        }
      }),
    );
  }

  async closeAll(): Promise<void> {
    const all = [...this.current.values()];
    this.current = new Map();
    await Promise.all(all.map((h) => this.closeOne(h)));
  }

  private async closeOne(h: LiveHandler): Promise<void> {
    try {
      await h.handler.flush?.();
      await h.handler.close?.();
    } catch (e) {
      this.logger.warn({ handler: h.name, err: errorMessage(e) }, 'closing a handler failed');
    }
  }
}
