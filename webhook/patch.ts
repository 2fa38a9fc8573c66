/**
 * The admission patch: the JSON Patch from the original object to the injected one (RFC 6902, keys
 * escaped `~0`/`~1` as JSON Pointer requires: annotation keys contain `/`).
 *
 * `createPatch` walks the two documents as fast-json-patch's `compare` does (same operations, same
 * order: a parent's old keys from last to first, then its new keys in order), so the patch is the
 * same text it always was (webhook/patch.test.ts holds it to `compare`), but it does not copy the
 * values it adds or replaces: they are the injected document's own, and it must not change while
 * the patch is in use (the webhook serialises the patch at once).
 */
import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import type { JsonValue } from '../lib/json.ts';

export type { Operation };

type Container = { readonly [key: string]: JsonValue } | readonly JsonValue[];

export function createPatch(original: JsonValue, injected: JsonValue): Operation[] {
  if (
    typeof original !== 'object' ||
    original === null ||
    typeof injected !== 'object' ||
    injected === null
  ) {
    return [];
  }
  const patch: Operation[] = [];
  diff(original, injected, [], patch);
  return patch;
}

function at(v: Container, key: string): JsonValue | undefined {
  return (v as Readonly<Record<string, JsonValue | undefined>>)[key];
}

function escape(key: string): string {
  return key.includes('/') || key.includes('~')
    ? key.replaceAll('~', '~0').replaceAll('/', '~1')
    : key;
}

/** The JSON Pointer of `key` under the keys in `keys` (written only for an operation). */
function pointer(keys: readonly string[], key?: string): string {
  let out = '';
  for (const k of keys) out += `/${escape(k)}`;
  return key === undefined ? out : `${out}/${escape(key)}`;
}

/** A value in a patch, as JSON would write it: `undefined` (only in a sparse array) is null. */
function valueOf(v: JsonValue | undefined): JsonValue {
  return v === undefined ? null : v;
}

/** `old` and `now` at the path `keys` (unescaped, shared and restored as the walk goes). */
function diff(old: Container, now: Container, keys: string[], patch: Operation[]): void {
  if (old === now) return;
  const nowIsArray = Array.isArray(now);
  const oldIsArray = Array.isArray(old);
  const oldKeys = oldIsArray ? undefined : Object.keys(old);
  const oldCount = oldKeys?.length ?? (old as readonly JsonValue[]).length;
  let deleted = false;
  for (let t = oldCount - 1; t >= 0; t--) {
    const key = oldKeys === undefined ? String(t) : (oldKeys[t] ?? '');
    const oldVal = at(old, key);
    const newVal = at(now, key);
    if (Object.hasOwn(now, key) && !(newVal === undefined && oldVal !== undefined && !nowIsArray)) {
      if (
        typeof oldVal === 'object' &&
        oldVal !== null &&
        typeof newVal === 'object' &&
        newVal !== null &&
        Array.isArray(oldVal) === Array.isArray(newVal)
      ) {
        keys.push(key);
        diff(oldVal, newVal, keys, patch);
        keys.pop();
      } else if (oldVal !== newVal) {
        patch.push({ op: 'replace', path: pointer(keys, key), value: valueOf(newVal) });
      }
    } else if (oldIsArray === nowIsArray) {
      patch.push({ op: 'remove', path: pointer(keys, key) });
      deleted = true;
    } else {
      patch.push({ op: 'replace', path: pointer(keys), value: now });
    }
  }
  const newCount = nowIsArray ? now.length : Object.keys(now).length;
  if (!deleted && newCount === oldCount) return;
  const newKeys = nowIsArray ? Array.from(now, (_x, i) => String(i)) : Object.keys(now);
  for (const key of newKeys) {
    const v = at(now, key);
    if (!Object.hasOwn(old, key) && v !== undefined) {
      patch.push({ op: 'add', path: pointer(keys, key), value: v });
    }
  }
}

/** Applies a patch to a copy of `doc` (validating each operation); for tests and kube-inject checks. */
export function applyPatch(doc: JsonValue, patch: readonly Operation[]): JsonValue {
  const copy = structuredClone(doc);
  return fastJsonPatch.applyPatch(copy, [...patch], true, false).newDocument;
}
