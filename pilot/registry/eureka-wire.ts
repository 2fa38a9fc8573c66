/**
 * Eureka's `GET {base}/apps` in JSON (`Accept: application/json`), as Pilot reads it. Eureka's
 * JSON comes from Java objects written by XStream/Jackson, with their quirks, all accepted here:
 * a list of one element may arrive as the element itself (`"instance": {...}`), an empty list as
 * nothing at all; a port is `{"$": 9080, "@enabled": "true"}` with `@enabled` a string (and `$`
 * sometimes a string too); metadata is a map of strings that may hold `"@class"`. Every field
 * Pilot uses is narrowed; a body of the wrong shape is a FieldError naming the field
 * (`applications.application[1].instance[0].port.$: ...`), prefixed with what was read.
 *
 * Source: Netflix Eureka wiki "Eureka REST operations" (`/eureka/v2/apps`; Spring Cloud's server
 * serves `/eureka/apps`); Istio 0.2's `platform/eureka/client.go` and its testdata.
 */
import { FieldError, FieldReader } from '../../lib/config/field-reader.ts';
import { describe } from '../../lib/config/values.ts';
import type { JsonValue } from '../../lib/json.ts';

export interface EurekaPort {
  readonly port: number;
  readonly enabled: boolean;
}

export interface EurekaInstance {
  readonly instanceId: string;
  readonly hostName: string;
  readonly app: string;
  readonly ipAddr: string;
  /** UP, DOWN, STARTING, OUT_OF_SERVICE, UNKNOWN. */
  readonly status: string;
  /** undefined when absent (not enabled). */
  readonly port: EurekaPort | undefined;
  readonly securePort: EurekaPort | undefined;
  readonly metadata: ReadonlyMap<string, string>;
}

export interface EurekaApp {
  readonly name: string;
  readonly instances: readonly EurekaInstance[];
}

/** A list field that Eureka may write as a list, as its one element, or leave out when empty. */
function listOf(r: FieldReader, key: string): FieldReader[] {
  const v = r.raw(key);
  if (v === undefined || v === '') return [];
  if (Array.isArray(v)) return r.list(key);
  if (typeof v === 'object') return [r.object(key)];
  return r.fail(key, `must be a list or an object, got ${describe(v)}`);
}

function port(r: FieldReader, key: string): EurekaPort | undefined {
  if (!r.has(key)) return undefined;
  const p: FieldReader = r.object(key);
  const raw: JsonValue | undefined = p.raw('$');
  const n = typeof raw === 'string' && /^\d{1,5}$/.test(raw) ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535) {
    p.fail('$', `must be a port number, got ${describe(raw)}`);
  }
  const e = p.raw('@enabled');
  let enabled: boolean;
  if (e === undefined) enabled = true;
  else if (e === true || e === 'true') enabled = true;
  else if (e === false || e === 'false') enabled = false;
  else p.fail('@enabled', `must be "true" or "false", got ${describe(e)}`);
  return { port: n, enabled };
}

function instance(r: FieldReader): EurekaInstance {
  return {
    instanceId: r.string('instanceId', ''),
    hostName: r.string('hostName', ''),
    app: r.string('app', ''),
    ipAddr: r.string('ipAddr', ''),
    status: r.string('status', 'UNKNOWN'),
    port: port(r, 'port'),
    securePort: port(r, 'securePort'),
    metadata: r.stringMap('metadata'),
  };
}

/** The applications of a `{base}/apps` answer. */
export function parseEurekaApps(body: unknown, what: string): EurekaApp[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new FieldError('(root)', `must be an object, got ${describe(body)}`, what);
  }
  const root = new FieldReader(body, { what });
  if (!root.has('applications')) root.fail('applications', 'is required');
  const apps = root.object('applications');
  return listOf(apps, 'application').map((a) => ({
    name: a.string('name', ''),
    instances: listOf(a, 'instance').map(instance),
  }));
}
