/**
 * The injector's answers by pod, for the pods a controller creates by the dozen: every pod of one
 * ReplicaSet (or Job, DaemonSet) reaches the webhook as the same object, since the API server
 * names it and gives it a uid only after admission. The injection is a pure function of the pod,
 * its namespace and labels, the injector and mesh config and the cluster version, so an answer is
 * reused for a later request that agrees on all of them: the pod by its JSON text, the configs by
 * identity (a reload makes new objects), the labels and the version by value. Only answers that
 * inject or skip are kept; errors are worked out (and logged) each time.
 *
 * An answer is kept only for a pod seen before (the key alone is remembered the first time): a
 * stream of pods that never repeat (an indexed Job's, bare pods) would otherwise keep every
 * answer until evicted, and each holds its patch and the injected pod it points into; measured,
 * that grew the webhook's memory by 140 MB under such a stream. LRU: 64 answers, 1,024 keys.
 */
import type { KubeVersion } from '../lib/kube-version.ts';
import type { JsonObject } from '../lib/json.ts';

export interface MemoInputs {
  readonly namespace: string;
  readonly object: JsonObject;
  readonly config: object;
  readonly mesh: object;
  readonly namespaceLabels: Readonly<Record<string, string>>;
  readonly kubernetesVersion: KubeVersion | undefined;
}

interface Entry<T> {
  readonly config: object;
  readonly mesh: object;
  readonly labels: Readonly<Record<string, string>>;
  readonly version: KubeVersion | undefined;
  readonly answer: T;
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>) {
  if (a === b) return true;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

function sameVersion(a: KubeVersion | undefined, b: KubeVersion | undefined): boolean {
  return a === b || (a?.major === b?.major && a?.minor === b?.minor);
}

/** Deletes the first-inserted keys of `map` (the least recently used) until it holds `max`. */
function dropOldest(map: Map<string, unknown>, max: number): void {
  for (const key of map.keys()) {
    if (map.size <= max) return;
    map.delete(key);
  }
}

export class AnswerMemo<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly seen = new Map<string, true>();
  private readonly capacity: number;
  private readonly seenCapacity: number;

  constructor(capacity = 64, seenCapacity = 1024) {
    this.capacity = capacity;
    this.seenCapacity = seenCapacity;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The key of a request: its namespace and its pod's JSON text. */
  key(i: MemoInputs): string {
    return `${i.namespace}\n${JSON.stringify(i.object)}`;
  }

  /** The answer kept for `key` when it was worked out from the same inputs. */
  get(key: string, i: MemoInputs): T | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (
      e.config !== i.config ||
      e.mesh !== i.mesh ||
      !sameLabels(e.labels, i.namespaceLabels) ||
      !sameVersion(e.version, i.kubernetesVersion)
    ) {
      this.entries.delete(key);
      return undefined;
    }
    // Most recently used goes to the end.
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.answer;
  }

  /** Keeps `answer` when `key` was seen before; otherwise remembers that it now has been. */
  set(key: string, i: MemoInputs, answer: T): void {
    if (!this.seen.delete(key)) {
      this.seen.set(key, true);
      dropOldest(this.seen, this.seenCapacity);
      return;
    }
    this.entries.delete(key);
    this.entries.set(key, {
      config: i.config,
      mesh: i.mesh,
      labels: i.namespaceLabels,
      version: i.kubernetesVersion,
      answer,
    });
    dropOldest(this.entries, this.capacity);
  }
}
