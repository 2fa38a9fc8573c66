/**
 * Which adapter serves which config kind, and which templates exist: the built-ins plus any the
 * user loads from their own modules (`--adapterModules ./my-adapter.ts`), so an adapter, or a whole
 * new class of adapters (a template, mixer/template.ts), is added without touching Mixer's code. A
 * module's default export (or its `adapters` export) is an adapter or a list of them; its
 * `templates` export, a template or a list of them.
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { ErrorCode, IstioLiteError } from '../lib/errors.ts';
import type { Adapter } from './adapter.ts';
import { builtinAdapters } from './adapters/index.ts';
import { TemplateRegistry } from './config/template-registry.ts';
import type { Template } from './template.ts';

export class AdapterRegistry {
  private readonly byName = new Map<string, Adapter>();
  readonly templates: TemplateRegistry;

  /** Templates are registered first, so adapters may take the ones modules add. */
  constructor(adapters: readonly Adapter[] = builtinAdapters, templates: readonly Template[] = []) {
    const clash = templates.find((t) => adapters.some((a) => a.name === t.name));
    if (clash) {
      throw new IstioLiteError(
        ErrorCode.InvalidConfig,
        `template name "${clash.name}" is already taken by an adapter`,
      );
    }
    this.templates = new TemplateRegistry(templates);
    for (const a of adapters) this.register(a);
  }

  register(a: Adapter): void {
    if (!/^[a-z][a-z0-9]*$/.test(a.name)) {
      throw new IstioLiteError(
        ErrorCode.InvalidConfig,
        `adapter name "${a.name}" must be lowercase letters and digits (it is a CRD kind)`,
      );
    }
    if (
      a.name === 'rule' ||
      a.name === 'attributemanifest' ||
      this.templates.has(a.name) ||
      this.byName.has(a.name)
    ) {
      throw new IstioLiteError(
        ErrorCode.InvalidConfig,
        `adapter name "${a.name}" is already taken`,
      );
    }
    const unknown = a.templates.filter((t) => !this.templates.has(t));
    if (unknown.length > 0) {
      throw new IstioLiteError(
        ErrorCode.InvalidConfig,
        `adapter ${a.name} takes ${unknown.join(', ')}: no such template (known: ${this.templates.names().join(', ')})`,
      );
    }
    this.byName.set(a.name, a);
  }

  get(kind: string): Adapter | undefined {
    return this.byName.get(kind);
  }

  /** The adapter kinds. */
  kinds(): string[] {
    return [...this.byName.keys()];
  }

  /** Every config kind Mixer reads: rule, the templates, the adapters. */
  configKinds(): string[] {
    return ['rule', ...this.templates.names(), ...this.kinds()];
  }
}

export interface MixerModule {
  readonly adapters: readonly Adapter[];
  readonly templates: readonly Template[];
}

function isAdapter(v: unknown): v is Adapter {
  if (typeof v !== 'object' || v === null) return false;
  const a = v as Record<string, unknown>;
  return (
    typeof a['name'] === 'string' &&
    typeof a['create'] === 'function' &&
    Array.isArray(a['templates']) &&
    a['templates'].every((t) => typeof t === 'string')
  );
}

function isTemplate(v: unknown): v is Template {
  if (typeof v !== 'object' || v === null) return false;
  const t = v as Record<string, unknown>;
  return (
    typeof t['name'] === 'string' &&
    typeof t['variety'] === 'string' &&
    typeof t['fields'] === 'object' &&
    t['fields'] !== null
  );
}

function listOf(v: unknown): unknown[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** Imports a user's module (a path or a package name) and returns its adapters and templates. */
export async function loadAdapterModule(spec: string, cwd = process.cwd()): Promise<MixerModule> {
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
  const adapters = listOf(mod['default'] ?? mod['adapters'] ?? mod['adapter']);
  const templates = listOf(mod['templates']);
  if (
    adapters.length + templates.length === 0 ||
    !adapters.every(isAdapter) ||
    !templates.every(isTemplate)
  ) {
    throw new IstioLiteError(
      ErrorCode.InvalidConfig,
      `adapter module ${spec} must export (default) an adapter or a list of adapters: {name, description, templates, create}, and/or templates: a list of {name, description, variety, fields}`,
    );
  }
  return { adapters, templates };
}
