/**
 * The config Pilot serves from: parsed objects by key, handed out as one immutable ConfigState
 * that stays the same object until something changes. An object that parses to what it was
 * (a status write, a label edit Pilot does not read) changes nothing and triggers no push.
 */
import { errorMessage } from '../../lib/errors.ts';
import {
  configKey,
  type ConfigMeta,
  type ConfigProblem,
  type ConfigSource,
  type ConfigState,
  type DestinationPolicy,
  type EgressRule,
  type Ingress,
  type RouteRule,
} from './model.ts';

/** One object as the store holds it: parsed, or rejected with why. */
export type ConfigEntry =
  | { readonly kind: 'RouteRule'; readonly value: RouteRule }
  | { readonly kind: 'DestinationPolicy'; readonly value: DestinationPolicy }
  | { readonly kind: 'EgressRule'; readonly value: EgressRule }
  | { readonly kind: 'Ingress'; readonly value: Ingress }
  | { readonly kind: 'rejected'; readonly value: ConfigProblem };

/** Runs a parser; a thrown error becomes a rejected entry (reason `Invalid`). */
export function parseEntry(meta: ConfigMeta, parse: () => ConfigEntry): ConfigEntry {
  try {
    return parse();
  } catch (e) {
    return { kind: 'rejected', value: { meta, reason: 'Invalid', message: errorMessage(e) } };
  }
}

function byKey<T extends { readonly meta: ConfigMeta }>(a: T, b: T): number {
  const ka = configKey(a.meta);
  const kb = configKey(b.meta);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

export class ConfigStore implements ConfigSource {
  private readonly entries = new Map<string, { entry: ConfigEntry; json: string }>();
  private readonly listeners = new Set<() => void>();
  private state: ConfigState | undefined;
  private syncCheck: () => string | undefined = () => undefined;

  current(): ConfigState {
    if (this.state) return this.state;
    const routeRules: RouteRule[] = [];
    const destinationPolicies: DestinationPolicy[] = [];
    const egressRules: EgressRule[] = [];
    const ingresses: Ingress[] = [];
    const rejected: ConfigProblem[] = [];
    for (const { entry } of this.entries.values()) {
      switch (entry.kind) {
        case 'RouteRule':
          routeRules.push(entry.value);
          break;
        case 'DestinationPolicy':
          destinationPolicies.push(entry.value);
          break;
        case 'EgressRule':
          egressRules.push(entry.value);
          break;
        case 'Ingress':
          ingresses.push(entry.value);
          break;
        case 'rejected':
          rejected.push(entry.value);
          break;
      }
    }
    this.state = {
      routeRules: routeRules.sort(byKey),
      destinationPolicies: destinationPolicies.sort(byKey),
      egressRules: egressRules.sort(byKey),
      ingresses: ingresses.sort(byKey),
      rejected: rejected.sort(byKey),
    };
    return this.state;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notSynced(): string | undefined {
    return this.syncCheck();
  }

  /** Lets an owner (the Kubernetes watch) report its informers' sync state. */
  setSyncCheck(check: () => string | undefined): void {
    this.syncCheck = check;
  }

  /** Sets the object at `key` (`kind/namespace/name`); notifies only when it changed. */
  set(key: string, entry: ConfigEntry): void {
    const json = JSON.stringify(entry);
    if (this.entries.get(key)?.json === json) return;
    this.entries.set(key, { entry, json });
    this.changed();
  }

  delete(key: string): void {
    if (this.entries.delete(key)) this.changed();
  }

  /** Tells listeners to look again (e.g. the informers just synced). */
  notify(): void {
    for (const l of this.listeners) l();
  }

  private changed(): void {
    this.state = undefined;
    this.notify();
  }
}
