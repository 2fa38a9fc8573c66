/**
 * Which adapter serves which config kind: the built-ins plus any the user loads from their own
 * modules (`--adapterModules ./my-adapter.ts`), so an adapter is added without touching Mixer's
 * code. A module's default export (or its `adapters` export) is an adapter or a list of them.
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { ErrorCode, IstioLiteError } from '../lib/errors.ts';
import { TemplateName, type Adapter } from './adapter.ts';
import { builtinAdapters } from './adapters/index.ts';

const reserved = new Set<string>(['rule', 'attributemanifest', ...TemplateName]);

export class AdapterRegistry {
  private readonly byName = new Map<string, Adapter>();

  constructor(adapters: readonly Adapter[] = builtinAdapters) {
    for (const a of adapters) this.register(a);
  }

  register(a: Adapter): void {
    if (!/^[a-z][a-z0-9]*$/.test(a.name)) {
      throw new IstioLiteError(
        ErrorCode.InvalidConfig,
        `adapter name "${a.name}" must be lowercase letters and digits (it is a CRD kind)`,
      );
    }
    if (reserved.has(a.name) || this.byName.has(a.name)) {
      throw new IstioLiteError(
        ErrorCode.InvalidConfig,
        `adapter name "${a.name}" is already taken`,
      );
    }
    this.byName.set(a.name, a);
  }

  get(kind: string): Adapter | undefined {
    return this.byName.get(kind);
  }

  kinds(): string[] {
    return [...this.byName.keys()];
  }
}

function isAdapter(v: unknown): v is Adapter {
  if (typeof v !== 'object' || v === null) return false;
  const a = v as Record<string, unknown>;
  return (
    typeof a['name'] === 'string' &&
    typeof a['create'] === 'function' &&
    Array.isArray(a['templates']) &&
    a['templates'].every((t) => (TemplateName as readonly unknown[]).includes(t))
  );
}

/** Imports a user's adapter module (a path or a package name). */
export async function loadAdapterModule(spec: string, cwd = process.cwd()): Promise<Adapter[]> {
  const target =
    spec.startsWith('.') || spec.startsWith('/') ? pathToFileURL(resolve(cwd, spec)).href : spec;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(target)) as Record<string, unknown>;
  } catch (e) {
    throw new IstioLiteError(
      ErrorCode.InvalidConfig,
      `adapter module ${spec} could not be loaded`,
      { cause: e },
    );
  }
  const exported = mod['default'] ?? mod['adapters'] ?? mod['adapter'];
  const list: unknown[] = Array.isArray(exported) ? exported : [exported];
  if (list.length === 0 || !list.every(isAdapter)) {
    throw new IstioLiteError(
      ErrorCode.InvalidConfig,
      `adapter module ${spec} must export (default) an adapter or a list of adapters: {name, description, templates, create}`,
    );
  }
  return list;
}
