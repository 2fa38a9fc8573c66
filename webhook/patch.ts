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
  diff(original, injected, '', patch);
  return patch;
}

function keysOf(v: Container): string[] {
  return Array.isArray(v) ? Array.from(v, (_x, i) => String(i)) : Object.keys(v);
}

function at(v: Container, key: string): JsonValue | undefined {
  return (v as Readonly<Record<string, JsonValue | undefined>>)[key];
}

function escape(key: string): string {
  return key.includes('/') || key.includes('~')
    ? key.replaceAll('~', '~0').replaceAll('/', '~1')
    : key;
}

/** A value in a patch, as JSON would write it: `undefined` (only in a sparse array) is null. */
function valueOf(v: JsonValue | undefined): JsonValue {
  return v === undefined ? null : v;
}

function diff(old: Container, now: Container, path: string, patch: Operation[]): void {
  if (old === now) return;
  const nowIsArray = Array.isArray(now);
  const oldKeys = keysOf(old);
  const newKeys = keysOf(now);
  let deleted = false;
  for (let t = oldKeys.length - 1; t >= 0; t--) {
    const key = oldKeys[t] ?? '';
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
        diff(oldVal, newVal, `${path}/${escape(key)}`, patch);
      } else if (oldVal !== newVal) {
        patch.push({ op: 'replace', path: `${path}/${escape(key)}`, value: valueOf(newVal) });
      }
    } else if (Array.isArray(old) === nowIsArray) {
      patch.push({ op: 'remove', path: `${path}/${escape(key)}` });
      deleted = true;
    } else {
      patch.push({ op: 'replace', path, value: now });
    }
  }
  if (!deleted && newKeys.length === oldKeys.length) return;
  for (const key of newKeys) {
    const v = at(now, key);
    if (!Object.hasOwn(old, key) && v !== undefined) {
      patch.push({ op: 'add', path: `${path}/${escape(key)}`, value: v });
    }
  }
}

/** Applies a patch to a copy of `doc` (validating each operation); for tests and kube-inject checks. */
export function applyPatch(doc: JsonValue, patch: readonly Operation[]): JsonValue {
  const copy = structuredClone(doc);
  return fastJsonPatch.applyPatch(copy, [...patch], true, false).newDocument;
}
