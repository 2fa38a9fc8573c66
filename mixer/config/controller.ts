/**
 * Keeps Mixer's current snapshot: holds the config objects (fed by informers or files), rebuilds
 * the snapshot when they change (debounced), swaps it in, then closes handlers that went away.
 * Problems are logged once each, naming the object, and handed to a ProblemSink (Kubernetes
 * Events in a cluster). Objects of kinds nobody knows are ignored.
 */
import type { Logger } from '../../lib/log.ts';
import type { HandlerEnv } from '../adapter.ts';
import type { AdapterRegistry } from '../adapter-registry.ts';
import { HandlerTable } from './handler-table.ts';
import { fullName, type ConfigObject, type ConfigProblem } from './objects.ts';
import { buildSnapshot, emptySnapshot, type Snapshot } from './snapshot.ts';

export interface ProblemSink {
  /** Called after each rebuild with every current problem (new and old). */
  report(problems: readonly ConfigProblem[], objects: readonly ConfigObject[]): void;
}

export interface ConfigControllerOptions {
  readonly registry: AdapterRegistry;
  readonly logger: Logger;
  readonly defaultNamespace: string;
  readonly envFor: (name: string) => HandlerEnv;
  readonly sink?: ProblemSink;
  /** Wait this long after a change for more changes before rebuilding (default 50 ms). */
  readonly debounceMs?: number;
}

function key(o: { kind: string; namespace: string; name: string }): string {
  return fullName(o);
}

export class ConfigController {
  private readonly objects = new Map<string, ConfigObject>();
  private readonly handlers: HandlerTable;
  private readonly opts: ConfigControllerOptions;
  private current: Snapshot;
  private nextId = 1;
  private timer: NodeJS.Timeout | undefined;
  private reported = new Set<string>();
  private readonly listeners: ((s: Snapshot) => void)[] = [];
  private building: Promise<void> = Promise.resolve();

  constructor(opts: ConfigControllerOptions) {
    this.opts = opts;
    this.handlers = new HandlerTable(opts.registry, opts.envFor, opts.logger);
    this.current = emptySnapshot(opts.defaultNamespace);
  }

  snapshot(): Snapshot {
    return this.current;
  }

  /** Whether a kind is Mixer config (a rule, a template or a registered adapter). */
  knows(kind: string): boolean {
    return (
      kind === 'rule' ||
      this.opts.registry.templates.has(kind) ||
      this.opts.registry.get(kind) !== undefined
    );
  }

  onSnapshot(listener: (s: Snapshot) => void): void {
    this.listeners.push(listener);
  }

  upsert(o: ConfigObject): void {
    if (!this.knows(o.kind)) return;
    this.objects.set(key(o), o);
    this.schedule();
  }

  remove(o: { kind: string; namespace: string; name: string }): void {
    if (this.objects.delete(key(o))) this.schedule();
  }

  /** Replaces every object and rebuilds now. */
  async replaceAll(objects: readonly ConfigObject[]): Promise<Snapshot> {
    this.objects.clear();
    for (const o of objects) if (this.knows(o.kind)) this.objects.set(key(o), o);
    return this.rebuild();
  }

  /** Rebuilds now (pending debounced changes included). */
  rebuild(): Promise<Snapshot> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.building = this.building.then(() => this.build());
    return this.building.then(() => this.current);
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.rebuild();
    }, this.opts.debounceMs ?? 50);
  }

  private async build(): Promise<void> {
    const objects = [...this.objects.values()];
    const update = this.handlers.update(objects);
    const snapshot = buildSnapshot({
      id: this.nextId++,
      objects,
      handlers: update.handlers,
      handlerProblems: update.problems,
      defaultNamespace: this.opts.defaultNamespace,
      templates: this.opts.registry.templates,
    });
    this.current = snapshot;
    await update.commit();
    this.log(snapshot);
    this.opts.sink?.report(snapshot.problems, objects);
    for (const l of this.listeners) l(snapshot);
  }

  private log(s: Snapshot): void {
    const now = new Set<string>();
    for (const p of s.problems) {
      const k = `${key(p)}\u0000${p.message}`;
      now.add(k);
      if (!this.reported.has(k)) {
        this.opts.logger.error(
          {
            object: key(p),
            kind: p.kind,
            namespace: p.namespace,
            name: p.name,
            problem: p.message,
          },
          `config ${key(p)} rejected: ${p.message}`,
        );
      }
    }
    this.reported = now;
    this.opts.logger.info(
      { snapshot: s.id, counts: s.counts, problems: s.problems.length },
      'config snapshot in use',
    );
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    await this.building;
    await this.handlers.closeAll();
  }

  flush(): Promise<void> {
    return this.handlers.flushAll();
  }
}
