/**
 * `istio-lite analyze` (like `istioctl analyze`): the checks of Pilot (pilot/analyze.ts), Mixer
 * (mixer/analyze.ts) and the injector (webhook/analyze.ts) run over the cluster's objects and the
 * files given (ops/analyze-input.ts), reported with a stable code, the object and field, and a fix
 * hint (ops/analyze-report.ts). Exits 79, as istioctl does, when a finding reaches the threshold.
 */
import { Severities } from '../../lib/analysis.ts';
import { option, usageError } from '../../lib/config/options.ts';
import { defaultMeshConfig } from '../../lib/mesh-config.ts';
import { analyzeMixer } from '../../mixer/analyze.ts';
import { analyzeInput } from '../../ops/analyze-input.ts';
import {
  FoundProblemsExitCode,
  fails,
  inScope,
  reportData,
  reportText,
  withSources,
} from '../../ops/analyze-report.ts';
import { findControlPlane, localEndpointsFile } from '../../ops/control-plane.ts';
import { analyzeTraffic, trafficCrds } from '../../pilot/analyze.ts';
import { analyzeInjection, injectorConfigFrom } from '../../webhook/analyze.ts';
import { defineCommand } from '../command.ts';

export const analyze = defineCommand({
  name: 'analyze',
  summary:
    'Check traffic rules, Mixer config and injection labels, in the cluster or in files before applying them.',
  usage:
    'analyze [-f FILE|DIR]... [-n NS | -A] [--use-kube false] [-o text|json|yaml] [--failure-threshold Error|Warning|Info]',
  options: {
    filename: option.repeated(
      'YAML to check as if applied (a file or a folder of them; repeatable)',
      {
        short: 'f',
        placeholder: 'FILE',
      },
    ),
    namespace: option.string(
      "report on this namespace (default: the kubeconfig context's, else default)",
      {
        short: 'n',
        placeholder: 'NS',
      },
    ),
    'all-namespaces': option.flag('report on every namespace', { short: 'A' }),
    'use-kube': option.bool(true, 'read the cluster; false checks the files alone'),
    output: option.oneOf(['text', 'json', 'yaml'], 'text', 'output format', { short: 'o' }),
    'failure-threshold': option.oneOf(Severities, 'Error', 'lowest severity that fails the run'),
    adapterModules: option.list([], "Mixer's --adapterModules (their kinds are checked too)", {
      placeholder: 'MODULES',
    }),
    kubeconfig: option.string('kubeconfig (default: KUBECONFIG, in-cluster, ~/.kube/config)', {
      placeholder: 'FILE',
    }),
    istioNamespace: option.text('istio-system', 'the control plane namespace', {
      short: 'i',
      placeholder: 'NS',
    }),
  },
  notes: [
    'Each finding: severity, code (IL0101…, listed in docs/operating.md), object, file, field, message and a fix.',
    `Exit status ${String(FoundProblemsExitCode)} when a finding reaches --failure-threshold (as istioctl analyze), 1 when`,
    `the cluster cannot be read. Under \`npm start\`, ${localEndpointsFile} names the cluster.`,
  ].join('\n'),
  async run(v, positionals, io) {
    if (positionals.length > 0)
      throw usageError(`unexpected argument "${positionals[0] ?? ''}" (files go after -f)`);
    if (!v['use-kube'] && v.filename.length === 0) {
      throw usageError('nothing to analyze: give files with -f, or leave --use-kube true');
    }
    const kc = v['use-kube']
      ? findControlPlane({
          kubeconfig: v.kubeconfig,
          istioNamespace: v.istioNamespace,
          cwd: io.cwd,
          env: io.env,
        }).kc
      : undefined;
    const contextNs = kc?.getContextObject(kc.getCurrentContext())?.namespace;
    const namespace =
      v.namespace ?? (contextNs !== undefined && contextNs !== '' ? contextNs : 'default');
    const input = await analyzeInput({
      kc,
      files: v.filename,
      defaultNamespace: namespace,
      istioNamespace: v.istioNamespace,
    });
    const findings = [
      ...analyzeTraffic({
        objects: input.objects,
        workloads: input.workloads,
        domain: 'cluster.local',
        ingressClass: defaultMeshConfig.ingressClass,
      }),
      ...(await analyzeMixer({
        objects: input.objects,
        otherKinds: trafficCrds.map((c) => c.kind),
        defaultNamespace: v.istioNamespace,
        adapterModules: v.adapterModules,
      })),
      ...analyzeInjection({
        objects: input.objects,
        sawCluster: input.sawCluster,
        config: injectorConfigFrom(input.injectorConfigMap),
      }),
    ];
    const all = v['all-namespaces'];
    const scope = { all, namespaces: new Set([namespace]) };
    const shown = withSources(findings, input.sources).filter((f) =>
      inScope(f, scope, input.sources),
    );
    const where = [
      all ? 'all namespaces' : `namespace ${namespace}`,
      ...(v.filename.length > 0 ? [`files ${v.filename.join(', ')}`] : []),
      ...(kc ? [] : ['no cluster']),
    ].join(', ');
    io.stdout.write(v.output === 'text' ? reportText(shown, where) : reportData(shown, v.output));
    return shown.some((f) => fails(f, v['failure-threshold'])) ? FoundProblemsExitCode : 0;
  },
});
