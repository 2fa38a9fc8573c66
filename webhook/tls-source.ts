/**
 * Where the webhook's serving key and certificate come from. A TlsSource yields the current pair
 * and tells its subscribers of each new one; the server subscribes and swaps its TLS context, so
 * new connections get the new certificate and open ones are undisturbed. Sources:
 *
 * - `fileTlsSource`: the mounted `--tlsCertFile`/`--tlsKeyFile` (a Secret), reloaded on change
 *   (lib/watched-files.ts); a pair that does not make a TLS context (a key from one rotation, a
 *   certificate from the next) is logged and the last good one kept.
 * - `selfManagedTlsSource` (self-managed-tls.ts): the Secret-backed CA and serving certificate,
 *   rotated by the webhook itself.
 * - `memoryTlsSource`: a pair in memory, set by hand (tests, the benchmark).
 */
import { createSecureContext } from 'node:tls';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import { watchFiles } from '../lib/watched-files.ts';

export interface TlsMaterial {
  /** PEM certificate chain, leaf first. */
  readonly cert: string;
  /** PEM private key of the leaf. */
  readonly key: string;
}

export type TlsListener = (tls: TlsMaterial) => void;

export interface TlsSource {
  /** The key and certificate to serve with now. */
  current(): TlsMaterial;
  /** Calls `listener` with every later pair; returns the function that unsubscribes it. */
  subscribe(listener: TlsListener): () => void;
  /** Stops watching or rotating; `current()` keeps the last pair. */
  stop(): Promise<void>;
}

/** The subscriber list every source keeps: one failing listener never stops the others. */
export interface Subscribers {
  subscribe(listener: TlsListener): () => void;
  publish(tls: TlsMaterial): void;
  readonly size: number;
}

export function tlsSubscribers(logger: Logger): Subscribers {
  const listeners = new Set<TlsListener>();
  return {
    subscribe(listener) {
      // A wrapper, so one function subscribed twice is two subscriptions.
      const entry: TlsListener = (tls) => {
        listener(tls);
      };
      listeners.add(entry);
      return () => {
        listeners.delete(entry);
      };
    },
    publish(tls) {
      for (const l of [...listeners]) {
        try {
          l(tls);
        } catch (e) {
          logger.error({ error: errorMessage(e) }, 'a serving certificate subscriber failed');
        }
      }
    },
    get size() {
      return listeners.size;
    },
  };
}

/** Throws unless `tls` makes a TLS context (PEM that parses, a key that matches the certificate). */
export function checkTlsMaterial(tls: TlsMaterial): TlsMaterial {
  createSecureContext({ cert: tls.cert, key: tls.key });
  return tls;
}

export interface MemoryTlsSource extends TlsSource {
  /** Replaces the pair and tells the subscribers (throws, changing nothing, on a bad pair). */
  set(tls: TlsMaterial): void;
  /** How many subscribers are attached (a stopped server leaves none). */
  subscriberCount(): number;
}

export function memoryTlsSource(initial: TlsMaterial, logger: Logger): MemoryTlsSource {
  let tls = checkTlsMaterial(initial);
  const subscribers = tlsSubscribers(logger);
  return {
    current: () => tls,
    subscribe: (l) => subscribers.subscribe(l),
    set(next) {
      tls = checkTlsMaterial(next);
      subscribers.publish(tls);
    },
    subscriberCount: () => subscribers.size,
    stop: () => Promise.resolve(),
  };
}

export interface FileTlsSourceOptions {
  readonly certFile: string;
  readonly keyFile: string;
  readonly logger: Logger;
  /** Content poll interval, ms (default: lib/watched-files.ts's). */
  readonly intervalMs?: number | undefined;
}

/** Reads the pair (a bad or mismatched pair fails the start, naming the files) and watches it. */
export async function fileTlsSource(o: FileTlsSourceOptions): Promise<TlsSource> {
  const subscribers = tlsSubscribers(o.logger);
  const files = await watchFiles({
    name: 'serving certificate',
    paths: [o.certFile, o.keyFile],
    load: ([cert, key]) => {
      try {
        return checkTlsMaterial({ cert: cert ?? '', key: key ?? '' });
      } catch (e) {
        throw new Error(
          `${o.certFile} and ${o.keyFile} are not a usable certificate and key: ${errorMessage(e)}`,
          { cause: e },
        );
      }
    },
    logger: o.logger,
    ...(o.intervalMs === undefined ? {} : { intervalMs: o.intervalMs }),
  });
  files.onChange((tls) => {
    subscribers.publish(tls);
  });
  return {
    current: () => files.get(),
    subscribe: (l) => subscribers.subscribe(l),
    stop() {
      files.close();
      return Promise.resolve();
    },
  };
}
