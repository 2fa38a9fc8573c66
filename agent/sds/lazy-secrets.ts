/**
 * A named-secret source loaded on the first request for one of its names. Router mode wraps the
 * `kubernetes://` source in it: the Kubernetes client is tens of MB of heap that a gateway serving
 * no TLS Ingress (an egress gateway, an ingress gateway without TLS) never needs, and a larger heap
 * makes every request's garbage collection dearer. Until the source is loaded `get` answers
 * undefined (not there yet, as for a Secret not read yet); names asked for meanwhile are handed to
 * it once loaded, and its changes reach this source's listeners. A load that fails is logged and
 * tried again on the next request.
 */
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import type { NamedSecretSource, TlsSecret } from './named-secrets.ts';

export interface LazySecretSourceOptions {
  readonly handles: (name: string) => boolean;
  readonly load: () => Promise<NamedSecretSource>;
  readonly logger: Logger;
}

export class LazySecretSource implements NamedSecretSource {
  private readonly o: LazySecretSourceOptions;
  private readonly listeners: ((name: string) => void)[] = [];
  private readonly pending = new Set<string>();
  private real: NamedSecretSource | undefined;
  private loading: Promise<void> | undefined;
  private closed = false;

  constructor(o: LazySecretSourceOptions) {
    this.o = o;
  }

  /** Whether the real source has been loaded (tests, debug). */
  get loaded(): boolean {
    return this.real !== undefined;
  }

  handles(name: string): boolean {
    return this.o.handles(name);
  }

  get(name: string): TlsSecret | undefined {
    if (this.real) return this.real.get(name);
    this.pending.add(name);
    this.loading ??= this.load();
    return undefined;
  }

  onChange(listener: (name: string) => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.loading;
    await this.real?.close();
  }

  private async load(): Promise<void> {
    let real: NamedSecretSource;
    try {
      real = await this.o.load();
    } catch (e) {
      this.o.logger.error({ error: errorMessage(e) }, 'cannot load the named secret source');
      // The next request tries again.
      this.loading = undefined;
      return;
    }
    if (this.closed) {
      await real.close();
      return;
    }
    this.real = real;
    real.onChange((name) => {
      for (const l of this.listeners) l(name);
    });
    for (const name of this.pending) {
      // Start watching; one already there is news to whoever asked before it was loaded.
      if (real.get(name) !== undefined) for (const l of this.listeners) l(name);
    }
    this.pending.clear();
  }
}
