/**
 * AdmissionReview v1 at the edge: the request body parsed and narrowed (every problem a 4xx with a
 * message naming it), and the response built by the rules the API server enforces: the request's
 * uid echoed, `patch` and `patchType` together or not at all.
 */
import { isObject, type JsonObject, type JsonValue } from '../lib/json.ts';
import type { Operation } from './patch.ts';

export const admissionApiVersion = 'admission.k8s.io/v1';

export interface AdmissionRequest {
  readonly uid: string;
  readonly kind: { readonly group: string; readonly version: string; readonly kind: string };
  readonly operation: string;
  readonly namespace: string;
  readonly name: string;
  readonly object: JsonObject;
  readonly dryRun: boolean;
}

export type ParseResult =
  | { readonly ok: true; readonly request: AdmissionRequest }
  | { readonly ok: false; readonly status: number; readonly message: string };

const bad = (message: string): ParseResult => ({ ok: false, status: 400, message });

export function parseAdmissionReview(body: unknown): ParseResult {
  if (!isObject(body)) return bad('body must be a JSON object (an AdmissionReview)');
  if (body['apiVersion'] !== admissionApiVersion || body['kind'] !== 'AdmissionReview') {
    return bad(
      `expected apiVersion ${admissionApiVersion} kind AdmissionReview, got ${JSON.stringify(body['apiVersion'] ?? null)} ${JSON.stringify(body['kind'] ?? null)}`,
    );
  }
  const req = body['request'];
  if (!isObject(req)) return bad('request is missing or not an object');
  const uid = req['uid'];
  if (typeof uid !== 'string' || uid === '') return bad('request.uid is missing');
  const kind = req['kind'];
  if (
    !isObject(kind) ||
    typeof kind['version'] !== 'string' ||
    typeof kind['kind'] !== 'string' ||
    (kind['group'] !== undefined && typeof kind['group'] !== 'string')
  ) {
    return bad('request.kind must be {group, version, kind}');
  }
  const object = req['object'];
  if (!isObject(object)) return bad('request.object is missing or not an object');
  const str = (v: JsonValue | undefined) => (typeof v === 'string' ? v : '');
  const meta = isObject(object['metadata']) ? object['metadata'] : {};
  return {
    ok: true,
    request: {
      uid,
      kind: { group: str(kind['group']), version: kind['version'], kind: kind['kind'] },
      operation: str(req['operation']),
      namespace: str(req['namespace']) || str(meta['namespace']) || 'default',
      name: str(req['name']) || str(meta['name']) || str(meta['generateName']),
      object,
      dryRun: req['dryRun'] === true,
    },
  };
}

export type AdmissionOutcome =
  | {
      readonly allowed: true;
      readonly patch: readonly Operation[];
      readonly warnings: readonly string[];
    }
  | {
      readonly allowed: false;
      readonly code: number;
      readonly message: string;
      readonly warnings: readonly string[];
    };

export function admissionResponse(uid: string, outcome: AdmissionOutcome): JsonObject {
  const response: JsonObject = { uid, allowed: outcome.allowed };
  if (outcome.allowed) {
    if (outcome.patch.length > 0) {
      response['patch'] = Buffer.from(JSON.stringify(outcome.patch)).toString('base64');
      response['patchType'] = 'JSONPatch';
    }
  } else {
    response['status'] = {
      code: outcome.code,
      message: outcome.message,
      reason: outcome.code >= 500 ? 'InternalError' : 'BadRequest',
    };
  }
  if (outcome.warnings.length > 0) response['warnings'] = [...outcome.warnings];
  return { apiVersion: admissionApiVersion, kind: 'AdmissionReview', response };
}

const responsePrefix = `{"apiVersion":${JSON.stringify(admissionApiVersion)},"kind":"AdmissionReview","response":`;

/** Each patch's base64 JSON, while the patch lives: the injector hands the same patch to every pod of a ReplicaSet. */
const encodedPatches = new WeakMap<readonly Operation[], string>();

/**
 * `JSON.stringify(admissionResponse(uid, outcome))`, written without building the object and then
 * scanning the base64 patch (the largest part of the answer) for characters to escape: base64 has
 * none. The same text (admission-review.test.ts holds the two to it).
 */
export function admissionResponseText(uid: string, outcome: AdmissionOutcome): string {
  if (!outcome.allowed || outcome.patch.length === 0) {
    return JSON.stringify(admissionResponse(uid, outcome));
  }
  let patch = encodedPatches.get(outcome.patch);
  if (patch === undefined) {
    patch = Buffer.from(JSON.stringify(outcome.patch)).toString('base64');
    encodedPatches.set(outcome.patch, patch);
  }
  const warnings =
    outcome.warnings.length > 0 ? `,"warnings":${JSON.stringify(outcome.warnings)}` : '';
  return `${responsePrefix}{"uid":${JSON.stringify(uid)},"allowed":true,"patch":"${patch}","patchType":"JSONPatch"${warnings}}}`;
}
