/**
 * The adapter API: the one small interface every adapter implements, built-in or a user's own.
 *
 * An adapter is a module describing one kind of handler (`denier`, `prometheus`, …): which
 * templates it takes and how to build a handler from a config object's spec. A handler is one
 * configured adapter (`handler.prometheus.istio-system`); Mixer calls it with instances, values
 * that rules built from request attributes through the templates below.
 *
 * Contracts:
 * - `create` validates the whole spec, throwing a FieldError that names the field (read it with
 *   the FieldReader it is given, and call `done()` so typos are refused); it must not block on I/O
 *   (connect in the background). A handler is reused while its spec is unchanged and closed when
 *   it goes away.
 * - `check`, `quota` and `report` may be called concurrently; they must not modify instances. A
 *   thrown error or rejected promise is an adapter failure: Mixer applies its fail policy.
 * - `flush` sends whatever is buffered (SIGTERM and config changes call it).
 */
import type { Logger } from '../lib/log.ts';
import type { Registry } from '../lib/metrics.ts';
import type { Value } from '../lib/mixer/value.ts';
import { FieldReader } from '../lib/config/field-reader.ts';
import type { TemplateInstance } from './template.ts';

/** Templates a module adds (mixer/template.ts). */
export type {
  FieldType,
  Template,
  TemplateField,
  TemplateInstance,
  TemplateVariety,
} from './template.ts';

/**
 * The reader `create` gets its spec in (lib/config/field-reader.ts) and the error its accessors
 * throw, for adapters to name in their own code.
 */
export { FieldError, FieldReader } from '../lib/config/field-reader.ts';

/**
 * How Mixer reads a config object's spec, for `create` (and an adapter's own tests): field names
 * in either jsonpb spelling (`maxAmount` or `max_amount`), int64 as numbers or numeric strings,
 * enums by name or number; errors name `spec.<field>` and `done()` refuses unknown fields.
 */
export function specReader(spec: unknown): FieldReader {
  return new FieldReader(spec, { path: 'spec', jsonpb: true });
}

/** google.rpc.Code values. */
export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type Code = (typeof Code)[keyof typeof Code];

export const codeNames: ReadonlyMap<number, string> = new Map(
  Object.entries(Code).map(([k, v]) => [v, k]),
);

export interface Status {
  readonly code: number;
  readonly message: string;
}

export const okStatus: Status = { code: Code.OK, message: '' };

export const TemplateName = [
  'checknothing',
  'listentry',
  'logentry',
  'metric',
  'quota',
  'reportnothing',
] as const;

export type TemplateName = (typeof TemplateName)[number];

export interface CheckNothingInstance {
  readonly template: 'checknothing';
  readonly name: string;
}

export interface ListEntryInstance {
  readonly template: 'listentry';
  readonly name: string;
  readonly value: Value;
}

export interface LogEntryInstance {
  readonly template: 'logentry';
  readonly name: string;
  readonly severity: string;
  readonly timestamp: Date;
  readonly variables: ReadonlyMap<string, Value>;
  readonly monitoredResourceType: string;
  readonly monitoredResourceDimensions?: ReadonlyMap<string, Value>;
}

export interface MetricInstance {
  readonly template: 'metric';
  readonly name: string;
  readonly value: Value;
  readonly dimensions: ReadonlyMap<string, Value>;
  readonly monitoredResourceType: string;
  readonly monitoredResourceDimensions?: ReadonlyMap<string, Value>;
}

export interface QuotaInstance {
  readonly template: 'quota';
  readonly name: string;
  readonly dimensions: ReadonlyMap<string, Value>;
}

export interface ReportNothingInstance {
  readonly template: 'reportnothing';
  readonly name: string;
}

export type CheckInstance = CheckNothingInstance | ListEntryInstance;
export type ReportInstance = LogEntryInstance | MetricInstance | ReportNothingInstance;
export type Instance = CheckInstance | ReportInstance | QuotaInstance;

export interface CheckResult {
  readonly status: Status;
  /** How long a client may reuse the answer (ms). */
  readonly validDurationMs: number;
  /** How many times a client may reuse the answer. */
  readonly validUseCount: number;
}

export interface QuotaArgs {
  readonly amount: number;
  readonly bestEffort: boolean;
  /** Same for retries of one request: a handler must not charge it twice. */
  readonly deduplicationId: string;
}

export interface QuotaResult {
  readonly granted: number;
  readonly validDurationMs: number;
}

/** What a handler learns about an instance config before any request (for config-time checks). */
export interface InstanceInfo {
  readonly name: string;
  /** A built-in TemplateName or a template a module added. */
  readonly template: string;
  /** Dimension or variable names, in config order (a module's template: its configured fields). */
  readonly keys: readonly string[];
}

export interface HandlerEnv {
  /** The handler's fully qualified name (`handler.prometheus.istio-system`). */
  readonly name: string;
  readonly logger: Logger;
  /** The registry served on Mixer's Prometheus port (42422). */
  readonly metrics: Registry;
  /** Milliseconds since the epoch (tests pass a clock). */
  readonly now: () => number;
  /** Mixer's standard output and error (stdio writes there; tests pass their own). */
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

export interface Handler {
  check?(instance: CheckInstance): CheckResult | Promise<CheckResult>;
  quota?(instance: QuotaInstance, args: QuotaArgs): QuotaResult | Promise<QuotaResult>;
  report?(instances: readonly ReportInstance[]): void | Promise<void>;
  /** Instances of templates a module added (mixer/template.ts), by the template's variety. */
  checkCustom?(instance: TemplateInstance): CheckResult | Promise<CheckResult>;
  quotaCustom?(instance: TemplateInstance, args: QuotaArgs): QuotaResult | Promise<QuotaResult>;
  reportCustom?(instances: readonly TemplateInstance[]): void | Promise<void>;
  /** Why this handler cannot take the instance (checked when config arrives), or undefined. */
  validateInstance?(instance: InstanceInfo): string | undefined;
  flush?(): void | Promise<void>;
  close?(): void | Promise<void>;
}

export interface Adapter {
  /** The config kind (`denier`); also the CRD kind in config.istio.io/v1alpha2. */
  readonly name: string;
  readonly description: string;
  /** The templates it takes: built-in TemplateNames or ones a module added. */
  readonly templates: readonly string[];
  create(spec: FieldReader, env: HandlerEnv): Handler;
}
