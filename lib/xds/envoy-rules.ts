/**
 * Envoy validates every config it receives against the `validate.rules` annotations in its protos
 * (protoc-gen-validate) and rejects the whole update on one violation. Without an Envoy binary at
 * hand, this checks the common rules on encoded resources, nested `Any`s included, so a test can
 * say "Envoy would accept this": required messages and oneofs, string lengths, number bounds,
 * defined enums, list and map sizes, durations; and it flags deprecated fields.
 */
import protobuf from 'protobufjs';
import { messageName } from './type-urls.ts';
import { messageType } from './protos.ts';

const wrapperTypes = new Set([
  '.google.protobuf.UInt32Value',
  '.google.protobuf.UInt64Value',
  '.google.protobuf.Int32Value',
  '.google.protobuf.Int64Value',
  '.google.protobuf.DoubleValue',
  '.google.protobuf.FloatValue',
  '.google.protobuf.StringValue',
  '.google.protobuf.BoolValue',
]);

type Rules = Readonly<Record<string, unknown>>;

function rulesOf(field: protobuf.Field): Rules {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(field.options ?? {})) {
    if (k.startsWith('(validate.rules).')) out[k.slice('(validate.rules).'.length)] = v;
  }
  return out;
}

function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  if (typeof v === 'object' && v !== null && 'toNumber' in v && typeof v.toNumber === 'function') {
    return (v as { toNumber: () => number }).toNumber();
  }
  return Number(v);
}

function durationMs(v: unknown): number {
  const d = v as { seconds?: unknown; nanos?: unknown };
  return num(d.seconds ?? 0) * 1000 + num(d.nanos ?? 0) / 1e6;
}

function checkNumber(kind: string, rules: Rules, v: number, path: string, out: string[]): void {
  const bound = (op: string): number | undefined => {
    const r = rules[`${kind}.${op}`];
    return r === undefined ? undefined : num(r);
  };
  const gt = bound('gt');
  const gte = bound('gte');
  const lt = bound('lt');
  const lte = bound('lte');
  if (gt !== undefined && !(v > gt)) out.push(`${path}: ${v} must be > ${gt}`);
  if (gte !== undefined && !(v >= gte)) out.push(`${path}: ${v} must be >= ${gte}`);
  if (lt !== undefined && !(v < lt)) out.push(`${path}: ${v} must be < ${lt}`);
  if (lte !== undefined && !(v <= lte)) out.push(`${path}: ${v} must be <= ${lte}`);
}

function checkScalar(
  field: protobuf.Field,
  rules: Rules,
  v: unknown,
  path: string,
  out: string[],
): void {
  const t = field.type;
  if (t === 'string') {
    const s = typeof v === 'string' ? v : '';
    const min = rules['string.min_len'] ?? rules['string.min_bytes'];
    const max = rules['string.max_len'] ?? rules['string.max_bytes'];
    if (min !== undefined && s.length < num(min))
      out.push(`${path}: must have at least ${num(min)} characters`);
    if (max !== undefined && s.length > num(max))
      out.push(`${path}: must have at most ${num(max)} characters`);
    const prefix = rules['string.prefix'];
    if (typeof prefix === 'string' && !s.startsWith(prefix))
      out.push(`${path}: must start with ${prefix}`);
    return;
  }
  if (field.resolvedType instanceof protobuf.Enum) {
    if (rules['enum.defined_only'] === true && !(num(v) in field.resolvedType.valuesById)) {
      out.push(`${path}: ${String(v)} is not a defined value`);
    }
    return;
  }
  if (t !== 'bool' && t !== 'bytes') checkNumber(t, rules, num(v), path, out);
}

function checkValue(
  field: protobuf.Field,
  rules: Rules,
  v: unknown,
  path: string,
  out: string[],
): void {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) {
    if (rt.fullName === '.google.protobuf.Any') {
      const a = v as { type_url: string; value: Uint8Array };
      const inner = messageType(a.type_url);
      out.push(
        ...envoyRuleViolations(inner, inner.decode(a.value), `${path}<${messageName(a.type_url)}>`),
      );
      return;
    }
    if (rt.fullName === '.google.protobuf.Duration') {
      const ms = durationMs(v);
      for (const op of ['gt', 'gte', 'lt', 'lte'] as const) {
        const r = rules[`duration.${op}`];
        if (r === undefined) continue;
        const bound = durationMs(r);
        const ok =
          op === 'gt'
            ? ms > bound
            : op === 'gte'
              ? ms >= bound
              : op === 'lt'
                ? ms < bound
                : ms <= bound;
        if (!ok) out.push(`${path}: duration ${ms} ms must be ${op} ${bound} ms`);
      }
      return;
    }
    if (wrapperTypes.has(rt.fullName)) {
      const inner = rt.fields['value'];
      if (inner)
        checkScalar(inner.resolve(), rules, (v as { value?: unknown }).value ?? 0, path, out);
      return;
    }
    out.push(...envoyRuleViolations(rt, v as protobuf.Message, path));
    return;
  }
  checkScalar(field, rules, v, path, out);
}

/** Rule violations in a decoded message (empty when Envoy's validation would pass). */
export function envoyRuleViolations(type: protobuf.Type, msg: object, path = type.name): string[] {
  const out: string[] = [];
  const m = msg as Record<string, unknown>;
  // Decoded messages carry empty lists and maps for absent repeated and map fields.
  const present = (name: string): boolean => {
    const v = m[name];
    if (!Object.hasOwn(m, name) || v === null || v === undefined) return false;
    if (Array.isArray(v)) return v.length > 0;
    const f = type.fields[name];
    return !(f?.map === true && Object.keys(v).length === 0);
  };
  for (const oneof of type.oneofsArray) {
    const set = oneof.oneof.filter(present);
    if (oneof.options?.['(validate.required)'] === true && set.length === 0) {
      out.push(`${path}: one of ${oneof.oneof.join(', ')} is required`);
    }
  }
  for (const f of type.fieldsArray) {
    const field = f.resolve();
    const rules = rulesOf(field);
    const p = `${path}.${field.name}`;
    const has = present(field.name);
    if (has && field.options?.['deprecated'] === true) out.push(`${p}: deprecated field`);
    if (field.partOf && !has) continue;
    const v = m[field.name];
    if (field.map) {
      const entries = has ? Object.entries(v as object) : [];
      const min = rules['map.min_pairs'];
      if (min !== undefined && entries.length < num(min))
        out.push(`${p}: needs at least ${num(min)} entries`);
      for (const [k, item] of entries) checkValue(field, {}, item, `${p}[${k}]`, out);
      continue;
    }
    if (field.repeated) {
      const items = has ? (v as unknown[]) : [];
      const min = rules['repeated.min_items'];
      const max = rules['repeated.max_items'];
      if (min !== undefined && items.length < num(min))
        out.push(`${p}: needs at least ${num(min)} items`);
      if (max !== undefined && items.length > num(max))
        out.push(`${p}: allows at most ${num(max)} items`);
      const itemRules: Record<string, unknown> = {};
      for (const [k, r] of Object.entries(rules)) {
        if (k.startsWith('repeated.items.')) itemRules[k.slice('repeated.items.'.length)] = r;
      }
      items.forEach((item, i) => {
        checkValue(field, itemRules, item, `${p}[${i}]`, out);
      });
      continue;
    }
    if (field.resolvedType instanceof protobuf.Type) {
      if (!has) {
        if (rules['message.required'] === true) out.push(`${p}: is required`);
        continue;
      }
      checkValue(field, rules, v, p, out);
      continue;
    }
    checkScalar(field, rules, has ? v : field.defaultValue, p, out);
  }
  return out;
}

/** Violations in an encoded message of the given type. */
export function envoyRuleViolationsOf(typeUrlOrName: string, bytes: Uint8Array): string[] {
  const t = messageType(typeUrlOrName);
  return envoyRuleViolations(t, t.decode(bytes), messageName(typeUrlOrName));
}
