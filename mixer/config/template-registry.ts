/**
 * Which templates Mixer knows: the six built in and those modules add (`--adapterModules`), so a
 * new class of adapters needs no change to Mixer's code. Instance configs are compiled through
 * here whatever their template.
 */
import { ErrorCode, IstioLiteError } from '../../lib/errors.ts';
import { TemplateName, type FieldReader } from '../adapter.ts';
import type { Template } from '../template.ts';
import { checkTemplate, compileCustomInstance } from './custom-templates.ts';
import type { CompiledInstance } from './instance-fields.ts';
import { compileBuiltinInstance, isBuiltinTemplate } from './templates.ts';

export class TemplateRegistry {
  private readonly custom = new Map<string, Template>();

  constructor(templates: readonly Template[] = []) {
    for (const t of templates) this.register(t);
  }

  register(t: Template): void {
    checkTemplate(t);
    if (this.has(t.name) || t.name === 'rule' || t.name === 'attributemanifest') {
      throw new IstioLiteError(
        ErrorCode.InvalidConfig,
        `template name "${t.name}" is already taken`,
      );
    }
    this.custom.set(t.name, t);
  }

  has(kind: string): boolean {
    return isBuiltinTemplate(kind) || this.custom.has(kind);
  }

  /** Every template name: the built-in ones first, then the modules'. */
  names(): string[] {
    return [...TemplateName, ...this.custom.keys()];
  }

  /** Compiles an instance config of `kind` (throws a FieldError naming the field). */
  compile(name: string, kind: string, spec: FieldReader): CompiledInstance {
    const t = this.custom.get(kind);
    if (t) return compileCustomInstance(name, t, spec);
    if (!isBuiltinTemplate(kind)) {
      throw new IstioLiteError(ErrorCode.InvalidConfig, `${kind} is not a template`);
    }
    return compileBuiltinInstance(name, kind, spec);
  }
}
