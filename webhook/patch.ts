/**
 * The admission patch: the JSON Patch from the original object to the injected one (RFC 6902, keys
 * escaped `~0`/`~1` as JSON Pointer requires: annotation keys contain `/`).
 */
import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import type { JsonValue } from '../lib/json.ts';

export type { Operation };

export function createPatch(original: JsonValue, injected: JsonValue): Operation[] {
  if (
    typeof original !== 'object' ||
    original === null ||
    typeof injected !== 'object' ||
    injected === null
  ) {
    return [];
  }
  return fastJsonPatch.compare(original, injected);
}

/** Applies a patch to a copy of `doc` (validating each operation); for tests and kube-inject checks. */
export function applyPatch(doc: JsonValue, patch: readonly Operation[]): JsonValue {
  const copy = structuredClone(doc);
  return fastJsonPatch.applyPatch(copy, [...patch], true, false).newDocument;
}
