/**
 * `istio-lite kube-inject`: like `istioctl kube-inject`, on files with no cluster.
 * Output goes to a temporary file renamed into place, so nothing is written to `-o` on error.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { text as readStream } from 'node:stream/consumers';
import { option, usageError as usage } from '../../lib/config/options.ts';
import { readConfigFile } from '../../lib/config-file.ts';
import { parseKubeVersion } from '../../lib/kube-version.ts';
import { defaultMeshConfig, parseMeshConfig } from '../../lib/mesh-config.ts';
import { defaultInjectorConfig, parseInjectorConfig } from '../../webhook/config.ts';
import { kubeInjectText } from '../../webhook/kube-inject.ts';
import { defineCommand } from '../command.ts';

function parseLabels(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of s.split(',').filter((x) => x !== '')) {
    const [k, v, extra] = part.split('=');
    if (k === undefined || k === '' || v === undefined || extra !== undefined) {
      throw usage(`--namespace-labels: "${part}" is not key=value`);
    }
    out[k] = v;
  }
  return out;
}

export const kubeInject = defineCommand({
  name: 'kube-inject',
  summary: 'Inject the sidecar into Kubernetes YAML files (no cluster needed).',
  usage: 'kube-inject -f FILE|- [-o FILE] [--injectConfigFile FILE] [--meshConfigFile FILE]',
  options: {
    filename: option.string('input YAML (multi-document), or - for stdin (required)', {
      short: 'f',
      placeholder: 'FILE',
    }),
    output: option.string('write the result here instead of stdout', {
      short: 'o',
      placeholder: 'FILE',
    }),
    injectConfigFile: option.string('injector config, or the istio-sidecar-injector ConfigMap', {
      placeholder: 'FILE',
    }),
    meshConfigFile: option.string('mesh config, or the istio ConfigMap', { placeholder: 'FILE' }),
    'namespace-labels': option.string(
      'labels of the target namespace (default istio-injection=enabled)',
      { placeholder: 'K=V,...' },
    ),
    namespace: option.text('default', 'namespace for objects that name none', {
      placeholder: 'NS',
    }),
    'kubernetes-version': option.string(
      'cluster version for nativeSidecars: auto (default: unknown, classic sidecars)',
      { placeholder: 'V' },
    ),
    report: option.flag('print one line per pod template to stderr: inject or skip, and why'),
  },
  async run(v, _pos, io) {
    const filename = v.filename;
    if (filename === undefined) throw usage('-f/--filename is required');
    const kv = v['kubernetes-version'];
    const kubernetesVersion = kv === undefined ? undefined : parseKubeVersion(kv);
    if (kv !== undefined && kubernetesVersion === undefined) {
      throw usage(`--kubernetes-version: "${kv}" is not a version like 1.32`);
    }
    const injectFile = v.injectConfigFile;
    const meshFile = v.meshConfigFile;
    const config = injectFile
      ? parseInjectorConfig(await readConfigFile(resolve(io.cwd, injectFile), 'config'))
      : defaultInjectorConfig;
    const mesh = meshFile
      ? parseMeshConfig(await readConfigFile(resolve(io.cwd, meshFile), 'mesh'))
      : defaultMeshConfig;
    const labelsFlag = v['namespace-labels'];
    const namespaceLabels =
      labelsFlag === undefined ? { 'istio-injection': 'enabled' } : parseLabels(labelsFlag);

    const source = filename === '-' ? 'stdin' : filename;
    const text =
      filename === '-'
        ? await readStream(io.stdin)
        : await readFile(resolve(io.cwd, filename), 'utf8');
    const result = kubeInjectText(
      text,
      {
        config,
        mesh,
        namespaceLabels,
        namespace: v.namespace,
        kubernetesVersion,
      },
      source,
    );

    for (const doc of result.documents) {
      for (const pod of doc.pods) {
        for (const w of pod.warnings) io.stderr.write(`warning: ${pod.kind} ${pod.name}: ${w}\n`);
        if (v.report) {
          const d = pod.decision;
          io.stderr.write(
            `document ${doc.index}: ${pod.kind} ${pod.namespace}/${pod.name}: ${d.inject ? 'inject' : 'skip'} (${d.reason})\n`,
          );
        }
      }
    }
    const output = v.output;
    if (output === undefined) {
      io.stdout.write(result.output);
    } else {
      const path = resolve(io.cwd, output);
      const tmp = `${path}.${process.pid}.tmp`;
      await writeFile(tmp, result.output);
      await rename(tmp, path);
    }
    return 0;
  },
});
