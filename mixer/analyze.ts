/**
 * Mixer's checks for `istio-lite analyze`: the `config.istio.io` objects given (rules, instances,
 * handlers; from the cluster or files) are compiled exactly as Mixer compiles them
 * (config/controller.ts: handlers created, instances and rules compiled and type-checked), and each
 * problem Mixer would report as an Event becomes a finding. Handlers are created with no outlet
 * (a throwaway metrics registry, output dropped) and closed before this returns, so nothing is
 * left connecting anywhere.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { finding, type Finding } from '../lib/analysis.ts';
import { isObject, type JsonObject } from '../lib/json.ts';
import { createRegistry } from '../lib/metrics.ts';
import { AdapterRegistry, loadAdapterModule } from './adapter-registry.ts';
import type { Adapter, Template } from './adapter.ts';
import { builtinAdapters } from './adapters/index.ts';
import { ConfigController } from './config/controller.ts';
import { ConfigGroup, type ConfigObject } from './config/objects.ts';

export interface MixerInput {
  /** Objects of any kind; those of group config.istio.io that are not Pilot's are Mixer's. */
  readonly objects: readonly JsonObject[];
  /** Kinds that are someone else's in the same group (Pilot's RouteRule & co.). */
  readonly otherKinds: readonly string[];
  /** Mixer's default config namespace (its rules apply mesh-wide). */
  readonly defaultNamespace: string;
  /** Adapter and template modules Mixer loads (`--adapterModules`). */
  readonly adapterModules?: readonly string[];
}

function configObject(o: JsonObject): ConfigObject | undefined {
  const md = isObject(o['metadata']) ? o['metadata'] : {};
  const kind = o['kind'];
  const name = md['name'];
  if (typeof kind !== 'string' || typeof name !== 'string' || name === '') return undefined;
  const ns = md['namespace'];
  return { kind, name, namespace: typeof ns === 'string' ? ns : '', spec: o['spec'] ?? {} };
}

const sink = () =>
  new Writable({
    write(_chunk, _enc, done) {
      done();
    },
  });

/** `spec.actions[0].handler: handler x does not exist` → the field and the message. */
function split(message: string): { field: string | undefined; message: string } {
  const m = /^(spec(?:\.[\w-]+|\[\d+\])*): ([\s\S]*)$/.exec(message);
  return m?.[1] !== undefined && m[2] !== undefined
    ? { field: m[1], message: m[2] }
    : { field: undefined, message };
}

export async function analyzeMixer(input: MixerInput): Promise<Finding[]> {
  const adapters: Adapter[] = [...builtinAdapters];
  const templates: Template[] = [];
  for (const m of input.adapterModules ?? []) {
    const mod = await loadAdapterModule(m);
    adapters.push(...mod.adapters);
    templates.push(...mod.templates);
  }
  const registry = new AdapterRegistry(adapters, templates);
  const logger = pino({ level: 'silent' });
  const metrics = createRegistry('analyze', false);
  const controller = new ConfigController({
    registry,
    logger,
    defaultNamespace: input.defaultNamespace,
    envFor: (name) => ({ name, logger, metrics, now: Date.now, stdout: sink(), stderr: sink() }),
  });
  const findings: Finding[] = [];
  const objects: ConfigObject[] = [];
  for (const raw of input.objects) {
    const apiVersion = raw['apiVersion'];
    if (typeof apiVersion !== 'string' || !apiVersion.startsWith(`${ConfigGroup}/`)) continue;
    const o = configObject(raw);
    if (!o || input.otherKinds.includes(o.kind)) continue;
    const object = { kind: o.kind, namespace: o.namespace, name: o.name };
    if (!controller.knows(o.kind)) {
      findings.push(
        finding('MixerUnknownKind', object, `Mixer has no adapter or template of kind ${o.kind}`),
      );
      continue;
    }
    objects.push(o);
  }
  try {
    const snapshot = await controller.replaceAll(objects);
    for (const p of snapshot.problems) {
      const { field, message } = split(p.message);
      findings.push(
        finding(
          'MixerConfigInvalid',
          { kind: p.kind, namespace: p.namespace, name: p.name },
          message,
          field,
        ),
      );
    }
  } finally {
    await controller.close();
  }
  return findings;
}
