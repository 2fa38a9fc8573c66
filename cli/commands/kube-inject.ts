/**
 * `istio-lite kube-inject`: like `istioctl kube-inject`, on files with no cluster.
 * Output goes to a temporary file renamed into place, so nothing is written to `-o` on error.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { text as readStream } from 'node:stream/consumers';
import { ErrorCode, IstioLiteError } from '../../lib/errors.ts';
import { readConfigFile } from '../../lib/config-file.ts';
import { parseKubeVersion } from '../../lib/kube-version.ts';
import { defaultMeshConfig, parseMeshConfig } from '../../lib/mesh-config.ts';
import { defaultInjectorConfig, parseInjectorConfig } from '../../webhook/config.ts';
import { kubeInjectText } from '../../webhook/kube-inject.ts';
import { flagBool, flagString, type Command } from '../command.ts';

function usage(message: string): IstioLiteError {
  return new IstioLiteError(ErrorCode.Usage, message);
}

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

export const kubeInject: Command = {
  name: 'kube-inject',
  summary: 'Inject the sidecar into Kubernetes YAML files (no cluster needed).',
  usage: 'kube-inject -f FILE|- [-o FILE] [--injectConfigFile FILE] [--meshConfigFile FILE]',
  help: [
    '  -f, --filename FILE          input YAML (multi-document), or - for stdin (required)',
    '  -o, --output FILE            write the result here instead of stdout',
    '      --injectConfigFile FILE  injector config, or the istio-sidecar-injector ConfigMap',
    '      --meshConfigFile FILE    mesh config, or the istio ConfigMap',
    '      --namespace-labels K=V,...  labels of the target namespace (default istio-injection=enabled)',
    '      --namespace NS           namespace for objects that name none (default "default")',
    '      --kubernetes-version V   cluster version for nativeSidecars: auto (default: unknown, classic sidecars)',
    '      --report                 print one line per pod template to stderr: inject or skip, and why',
  ].join('\n'),
  options: {
    filename: { type: 'string', short: 'f' },
    output: { type: 'string', short: 'o' },
    injectConfigFile: { type: 'string' },
    meshConfigFile: { type: 'string' },
    'namespace-labels': { type: 'string' },
    namespace: { type: 'string' },
    'kubernetes-version': { type: 'string' },
    report: { type: 'boolean' },
  },
  async run(flags, _pos, io) {
    const filename = flagString(flags, 'filename');
    if (filename === undefined) throw usage('-f/--filename is required');
    const kv = flagString(flags, 'kubernetes-version');
    const kubernetesVersion = kv === undefined ? undefined : parseKubeVersion(kv);
    if (kv !== undefined && kubernetesVersion === undefined) {
      throw usage(`--kubernetes-version: "${kv}" is not a version like 1.32`);
    }
    const injectFile = flagString(flags, 'injectConfigFile');
    const meshFile = flagString(flags, 'meshConfigFile');
    const config = injectFile
      ? parseInjectorConfig(await readConfigFile(resolve(io.cwd, injectFile), 'config'))
      : defaultInjectorConfig;
    const mesh = meshFile
      ? parseMeshConfig(await readConfigFile(resolve(io.cwd, meshFile), 'mesh'))
      : defaultMeshConfig;
    const labelsFlag = flagString(flags, 'namespace-labels');
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
        namespace: flagString(flags, 'namespace') ?? 'default',
        kubernetesVersion,
      },
      source,
    );

    for (const doc of result.documents) {
      for (const pod of doc.pods) {
        for (const w of pod.warnings) io.stderr.write(`warning: ${pod.kind} ${pod.name}: ${w}\n`);
        if (flagBool(flags, 'report')) {
          const d = pod.decision;
          io.stderr.write(
            `document ${doc.index}: ${pod.kind} ${pod.namespace}/${pod.name}: ${d.inject ? 'inject' : 'skip'} (${d.reason})\n`,
          );
        }
      }
    }
    const output = flagString(flags, 'output');
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
};
