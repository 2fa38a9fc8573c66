/**
 * Rendering the Helm chart with the real `helm template`: the chart is the one place manifests are
 * defined (the MutatingWebhookConfiguration among them), and local mode renders from it too.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ErrorCode, IstioLiteError, errorMessage } from './errors.ts';
import { isObject, type JsonObject } from './json.ts';
import { projectRoot } from './package-info.ts';
import { parseYamlDocuments } from './yaml.ts';

export const chartDir = join(projectRoot, 'charts', 'istio-lite');

export interface TemplateOptions {
  readonly helm: string;
  readonly releaseName?: string;
  readonly namespace?: string;
  /** `--set` values (`key=value`, strings). */
  readonly set?: Readonly<Record<string, string>>;
  readonly valuesFiles?: readonly string[];
  /** Render only these templates (`templates/mutatingwebhook.yaml`). */
  readonly showOnly?: readonly string[];
  /** Cluster version for capabilities (helm assumes 1.20 otherwise). */
  readonly kubeVersion?: string;
}

export async function helmTemplate(o: TemplateOptions): Promise<JsonObject[]> {
  const args = [
    'template',
    o.releaseName ?? 'istio-lite',
    chartDir,
    '-n',
    o.namespace ?? 'istio-system',
  ];
  args.push('--kube-version', o.kubeVersion ?? '1.37.0');
  for (const [k, v] of Object.entries(o.set ?? {})) args.push('--set-string', `${k}=${v}`);
  for (const f of o.valuesFiles ?? []) args.push('-f', f);
  for (const s of o.showOnly ?? []) args.push('--show-only', s);
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)(o.helm, args, { maxBuffer: 32 * 1024 * 1024 }));
  } catch (e) {
    const stderr = typeof e === 'object' && e !== null && 'stderr' in e ? String(e.stderr) : '';
    throw new IstioLiteError(
      ErrorCode.External,
      `helm template failed: ${stderr.trim() || errorMessage(e)}`,
      {
        cause: e,
      },
    );
  }
  return parseYamlDocuments(stdout, 'helm template')
    .map((d) => d.value)
    .filter(isObject);
}
