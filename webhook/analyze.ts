/**
 * The injector's checks for `istio-lite analyze`: a namespace labelled for injection
 * (`istio-injection=enabled`, or an `istio.io/rev`) that no webhook of the injector's
 * MutatingWebhookConfiguration selects (its namespaceSelector, matched as the API server matches
 * it, with the `kubernetes.io/metadata.name` label it adds); no injector webhook at all; both
 * labels on one namespace; and pods the injector would inject now (policy.ts `decide`, with the
 * cluster's injector config) that run without a sidecar.
 */
import { finding, type Finding } from '../lib/analysis.ts';
import { FieldReader } from '../lib/config/field-reader.ts';
import { errorMessage } from '../lib/errors.ts';
import { isObject, stringMap, type JsonObject } from '../lib/json.ts';
import { parseLabelSelector, selectorMatches, type LabelSelector } from '../lib/label-selector.ts';
import { parseYamlDocument } from '../lib/yaml.ts';
import { Annotation } from './annotations.ts';
import { defaultInjectorConfig, parseInjectorConfig, type InjectorConfig } from './config.ts';
import { Label, decide } from './policy.ts';

export interface InjectionInput {
  /** Objects of any kind; Namespaces, MutatingWebhookConfigurations and Pods are read. */
  readonly objects: readonly JsonObject[];
  /** Whether the objects include the cluster's webhook configurations (else those checks are off). */
  readonly sawCluster: boolean;
  readonly config: InjectorConfig;
}

/** The injector config from the `istio-sidecar-injector` ConfigMap (its `config` key), else the default. */
export function injectorConfigFrom(configMap: JsonObject | undefined): InjectorConfig {
  const data = configMap?.['data'];
  const text = isObject(data) ? data['config'] : undefined;
  if (typeof text !== 'string') return defaultInjectorConfig;
  return parseInjectorConfig(parseYamlDocument(text, 'istio-sidecar-injector config'));
}

function meta(o: JsonObject): { name: string; namespace: string; labels: Record<string, string> } {
  const md = isObject(o['metadata']) ? o['metadata'] : {};
  return {
    name: typeof md['name'] === 'string' ? md['name'] : '',
    namespace: typeof md['namespace'] === 'string' ? md['namespace'] : '',
    labels: { ...(stringMap(md['labels']) ?? {}) },
  };
}

function isInjectorWebhook(o: JsonObject): boolean {
  if (o['kind'] !== 'MutatingWebhookConfiguration') return false;
  const m = meta(o);
  return m.name === 'istio-sidecar-injector' || m.labels['app'] === 'istio-sidecar-injector';
}

/** Each webhook's namespaceSelector (absent: every namespace), or why it could not be read. */
function namespaceSelectors(o: JsonObject): { name: string; selector: LabelSelector | string }[] {
  const hooks = Array.isArray(o['webhooks']) ? o['webhooks'] : [];
  return hooks.filter(isObject).map((h) => {
    const name = typeof h['name'] === 'string' ? h['name'] : '';
    try {
      return { name, selector: parseLabelSelector(new FieldReader(h['namespaceSelector'] ?? {})) };
    } catch (e) {
      return { name, selector: errorMessage(e) };
    }
  });
}

function enabledFor(labels: Readonly<Record<string, string>>): boolean {
  const inj = labels[Label.InjectionNamespace];
  if (inj === 'disabled') return false;
  return inj === 'enabled' || labels[Label.Revision] !== undefined;
}

function namespaceFindings(input: InjectionInput): Finding[] {
  const out: Finding[] = [];
  const webhooks = input.objects.filter(isInjectorWebhook);
  const selectors = webhooks.flatMap(namespaceSelectors);
  for (const ns of input.objects.filter((o) => o['kind'] === 'Namespace')) {
    const m = meta(ns);
    const labels: Record<string, string> = { 'kubernetes.io/metadata.name': m.name, ...m.labels };
    const object = { kind: 'Namespace', namespace: '', name: m.name };
    if (labels[Label.InjectionNamespace] !== undefined && labels[Label.Revision] !== undefined) {
      out.push(
        finding(
          'InjectionLabelsConflict',
          object,
          `both ${Label.InjectionNamespace}=${labels[Label.InjectionNamespace] ?? ''} and ${Label.Revision}=${labels[Label.Revision] ?? ''} are set`,
          'metadata.labels',
        ),
      );
    }
    if (!enabledFor(labels) || !input.sawCluster) continue;
    const how =
      labels[Label.InjectionNamespace] === 'enabled'
        ? `${Label.InjectionNamespace}=enabled`
        : `${Label.Revision}=${labels[Label.Revision] ?? ''}`;
    if (webhooks.length === 0) {
      out.push(
        finding(
          'NoInjectorWebhook',
          object,
          `labelled ${how}, but no MutatingWebhookConfiguration of the injector (istio-sidecar-injector) is installed: pods will not be injected`,
          'metadata.labels',
        ),
      );
      continue;
    }
    const selected = selectors.some(
      (s) => typeof s.selector !== 'string' && selectorMatches(s.selector, labels),
    );
    if (!selected) {
      out.push(
        finding(
          'InjectionMissedByWebhook',
          object,
          `labelled ${how}, but no webhook of istio-sidecar-injector selects it (${selectors.map((s) => s.name).join(', ')}): pods created here are not injected`,
          'metadata.labels',
        ),
      );
    }
  }
  return out;
}

function podFindings(input: InjectionInput): Finding[] {
  const out: Finding[] = [];
  const nsLabels = new Map<string, Record<string, string>>();
  for (const ns of input.objects.filter((o) => o['kind'] === 'Namespace')) {
    const m = meta(ns);
    nsLabels.set(m.name, m.labels);
  }
  for (const pod of input.objects.filter((o) => o['kind'] === 'Pod')) {
    const m = meta(pod);
    const md = isObject(pod['metadata']) ? pod['metadata'] : {};
    const annotations = stringMap(md['annotations']) ?? {};
    const spec = isObject(pod['spec']) ? pod['spec'] : {};
    if (annotations[Annotation.Status] !== undefined) continue;
    const decision = decide(
      {
        namespace: m.namespace,
        namespaceLabels: nsLabels.get(m.namespace) ?? {},
        labels: m.labels,
        annotations,
        hostNetwork: spec['hostNetwork'] === true,
        alreadyInjected: false,
      },
      input.config,
    );
    if (!decision.inject) continue;
    out.push(
      finding(
        'PodNotInjected',
        { kind: 'Pod', namespace: m.namespace, name: m.name },
        `runs without a sidecar, but would be injected now (${decision.reason})`,
      ),
    );
  }
  return out;
}

export function analyzeInjection(input: InjectionInput): Finding[] {
  return [...namespaceFindings(input), ...podFindings(input)];
}
