/**
 * A value loaded from files and reloaded when they change: mounted ConfigMaps and Secrets (which
 * Kubernetes swaps through a `..data` symlink, so both a directory watch and a content poll are
 * used). The first load must succeed (a bad file stops the start with its error); later bad
 * content is logged and the last good value kept, so a typo never takes a running server down.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errorMessage } from './errors.ts';
import type { Logger } from './log.ts';

export interface WatchedFilesOptions<T> {
  readonly name: string;
  readonly paths: readonly string[];
  /** Parses the files' contents (in `paths` order); throws on bad content. */
  readonly load: (contents: readonly string[]) => T;
  readonly logger: Logger;
  /** Poll interval, ms (default 2000). */
  readonly intervalMs?: number;
}

export interface WatchedFiles<T> {
  get(): T;
  onChange(listener: (value: T) => void): void;
  /** Re-reads now; resolves true when the value changed. */
  reload(): Promise<boolean>;
  close(): void;
}

export async function watchFiles<T>(opts: WatchedFilesOptions<T>): Promise<WatchedFiles<T>> {
  const read = () => Promise.all(opts.paths.map((p) => readFile(p, 'utf8')));
  let raw = await read();
  let value = opts.load(raw);
  const listeners: ((v: T) => void)[] = [];
  let closed = false;
  let pending: Promise<boolean> | undefined;

  const reload = (): Promise<boolean> => {
    pending ??= (async () => {
      try {
        const next = await read();
        if (next.every((c, i) => c === raw[i])) return false;
        const parsed = opts.load(next);
        raw = next;
        value = parsed;
        opts.logger.info({ files: opts.paths }, `${opts.name} reloaded`);
        for (const l of listeners) l(value);
        return true;
      } catch (e) {
        opts.logger.error(
          { files: opts.paths, error: errorMessage(e) },
          `${opts.name} not reloaded; keeping the last good one`,
        );
        return false;
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };

  const watchers: FSWatcher[] = [];
  for (const dir of new Set(opts.paths.map((p) => dirname(p)))) {
    try {
      const w = watch(dir, () => {
        if (!closed) void reload();
      });
      w.on('error', () => undefined);
      watchers.push(w);
    } catch {
      // The poll below still notices changes.
    }
  }
  const timer = setInterval(() => {
    void reload();
  }, opts.intervalMs ?? 2000);
  timer.unref();

  return {
    get: () => value,
    onChange: (l) => {
      listeners.push(l);
    },
    reload,
    close: () => {
      closed = true;
      clearInterval(timer);
      for (const w of watchers) w.close();
    },
  };
}
