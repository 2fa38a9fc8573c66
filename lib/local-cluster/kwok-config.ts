/**
 * kwok's --config file for the local cluster: its options and the Stages that play the part of
 * each node's kubelet. kwok applies a Stage to every object its selector matches (jq queries on
 * the object; `In` holds when any value the query yields is listed, `NotIn` when none is) by
 * patching the object's status with the rendered Go template. Our own stages, written for what
 * istio-lite needs to see:
 *
 * - node-ready: a new node turns Ready with an InternalIP (from its `istio-lite.io/node-ip`
 *   annotation), room for 1,000 pods and a kubelet of the cluster's version. kwok renews each
 *   node's Lease itself, which is the heartbeat the node lifecycle controller reads.
 * - pod-running: a pod bound to a node gets the pod IP kwok allocates from the node's podCIDR, its
 *   node's IP, and turns Running and Ready: containers running, init containers Completed, native
 *   sidecars (init containers with `restartPolicy: Always`) running. A pod with readiness gates
 *   stays not Ready (reason ReadinessGatesNotReady), as the kubelet keeps it until something sets
 *   the gates' conditions: an endpoint that is there but not ready.
 * - job-pod-succeeded: a Job's pod finishes, Succeeded, its native sidecars stopped as the kubelet
 *   stops them once the main containers exit. A Job pod with a regular container named
 *   `istio-proxy` (a sidecar injected without native sidecars) never gets there: that container
 *   does not exit by itself, so on a real cluster the pod stays Running and the Job never
 *   completes, and so it is here.
 * - pod-gone: a pod being deleted is removed at once (grace period 0), as the kubelet does once
 *   its containers have stopped; finalizers stay for their controllers to remove (the Job
 *   controller's job-tracking finalizer).
 *
 * The Stage API and the template functions (Now, Quote, NodeConditions, NodeIPsWith, PodIPsWith,
 * Version) are kwok's; see docs/reference/simulated-cluster.md.
 */
import { stringify } from 'yaml';

/** The annotation our Node objects carry their InternalIP in (nodes.ts writes it). */
export const nodeIpAnnotation = 'istio-lite.io/node-ip';

export interface KwokConfigOptions {
  /** `v1.37.2`: what the nodes report as their kubelet's version. */
  readonly kubeletVersion: string;
  /** Pods whose stage kwok plays at once (default 4 in kwok; more for large clusters). */
  readonly podParallelism?: number;
}

/** Pods of a node that has no podCIDR yet; outside the cluster's ranges, so a clash shows. */
const fallbackPodCidr = '10.243.255.0/24';

const exists = (key: string) => ({ key, operator: 'Exists' });
const absent = (key: string) => ({ key, operator: 'DoesNotExist' });
const isIn = (key: string, ...values: string[]) => ({ key, operator: 'In', values });
const notIn = (key: string, ...values: string[]) => ({ key, operator: 'NotIn', values });
const readyStatus = '.status.conditions.[] | select(.type == "Ready") | .status';

function stage(
  name: string,
  kind: 'Node' | 'Pod',
  matchExpressions: readonly object[],
  step: object,
): object {
  return {
    apiVersion: 'kwok.x-k8s.io/v1alpha1',
    kind: 'Stage',
    metadata: { name: `istio-lite-${name}` },
    spec: {
      resourceRef: { apiGroup: 'v1', kind },
      selector: { matchExpressions },
      steps: [step],
    },
  };
}

const statusPatch = (template: string) => ({
  patch: { subresource: 'status', root: 'status', template },
});

function nodeReady(kubeletVersion: string): string {
  const room = '{ cpu: "1000", memory: 4Ti, pods: "1000", ephemeral-storage: 100Ti }';
  return `{{ $now := Now }}
conditions:
{{ range NodeConditions }}
- type: {{ .type | Quote }}
  status: {{ .status | Quote }}
  reason: {{ .reason | Quote }}
  message: {{ .message | Quote }}
  lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $now | Quote }}
{{ end }}
addresses:
- type: InternalIP
  address: {{ index .metadata.annotations "${nodeIpAnnotation}" | Quote }}
- type: Hostname
  address: {{ .metadata.name | Quote }}
capacity: ${room}
allocatable: ${room}
nodeInfo:
  architecture: amd64
  operatingSystem: linux
  kubeletVersion: ${kubeletVersion}
  containerRuntimeVersion: {{ printf "kwok://%s" Version | Quote }}
  kernelVersion: ""
  osImage: kwok
  machineID: ""
  systemUUID: ""
  bootID: ""
phase: Running
`;
}

const podRunning = `{{ $now := Now }}
conditions:
- { type: PodReadyToStartContainers, status: "True", lastTransitionTime: {{ $now | Quote }} }
- { type: Initialized, status: "True", lastTransitionTime: {{ $now | Quote }} }
- { type: ContainersReady, status: "True", lastTransitionTime: {{ $now | Quote }} }
{{ if .spec.readinessGates }}
- { type: Ready, status: "False", reason: ReadinessGatesNotReady, lastTransitionTime: {{ $now | Quote }} }
{{ else }}
- { type: Ready, status: "True", lastTransitionTime: {{ $now | Quote }} }
{{ end }}
containerStatuses:
{{ range .spec.containers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  imageID: ""
  ready: true
  started: true
  restartCount: 0
  state: { running: { startedAt: {{ $now | Quote }} } }
{{ end }}
initContainerStatuses:
{{ range .spec.initContainers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  imageID: ""
  restartCount: 0
{{ if eq (or .restartPolicy "") "Always" }}
  ready: true
  started: true
  state: { running: { startedAt: {{ $now | Quote }} } }
{{ else }}
  ready: true
  started: false
  state: { terminated: { exitCode: 0, reason: Completed, startedAt: {{ $now | Quote }}, finishedAt: {{ $now | Quote }} } }
{{ end }}
{{ end }}
{{ with NodeIPsWith .spec.nodeName }}
hostIP: {{ index . 0 | Quote }}
hostIPs:
{{ range . }}
- ip: {{ . | Quote }}
{{ end }}
{{ end }}
{{ with PodIPsWith .spec.nodeName (or .spec.hostNetwork false) (or .metadata.uid "") (or .metadata.name "") (or .metadata.namespace "") }}
podIP: {{ index . 0 | Quote }}
podIPs:
{{ range . }}
- ip: {{ . | Quote }}
{{ end }}
{{ end }}
phase: Running
startTime: {{ $now | Quote }}
`;

const finished = (name: string, image: string) => `- name: {{ ${name} | Quote }}
  image: {{ ${image} | Quote }}
  imageID: ""
  ready: false
  started: false
  restartCount: 0
  state: { terminated: { exitCode: 0, reason: Completed, startedAt: {{ $now | Quote }}, finishedAt: {{ $now | Quote }} } }`;

const jobPodSucceeded = `{{ $now := Now }}
conditions:
- { type: ContainersReady, status: "False", reason: PodCompleted, lastTransitionTime: {{ $now | Quote }} }
- { type: Ready, status: "False", reason: PodCompleted, lastTransitionTime: {{ $now | Quote }} }
containerStatuses:
{{ range .spec.containers }}
${finished('.name', '.image')}
{{ end }}
initContainerStatuses:
{{ range .spec.initContainers }}
${finished('.name', '.image')}
{{ end }}
phase: Succeeded
`;

export function kwokStages(o: KwokConfigOptions): object[] {
  return [
    stage(
      'node-ready',
      'Node',
      [notIn(readyStatus, 'True')],
      statusPatch(nodeReady(o.kubeletVersion)),
    ),
    stage(
      'pod-running',
      'Pod',
      [
        absent('.metadata.deletionTimestamp'),
        isIn('.status.phase', 'Pending'),
        notIn(readyStatus, 'True'),
      ],
      statusPatch(podRunning),
    ),
    stage(
      'job-pod-succeeded',
      'Pod',
      [
        absent('.metadata.deletionTimestamp'),
        isIn('.status.phase', 'Running'),
        isIn('.metadata.ownerReferences.[].kind', 'Job'),
        notIn('.spec.containers.[].name', 'istio-proxy'),
      ],
      statusPatch(jobPodSucceeded),
    ),
    stage('pod-gone', 'Pod', [exists('.metadata.deletionTimestamp')], { delete: true }),
  ];
}

/** The whole --config file: kwok's options, then the stages. */
export function kwokConfigYaml(o: KwokConfigOptions): string {
  const config = {
    apiVersion: 'config.kwok.x-k8s.io/v1alpha1',
    kind: 'KwokConfiguration',
    // A KwokConfiguration read from a file gets no defaults: every option kwok needs is here.
    options: {
      cidr: fallbackPodCidr,
      podPlayStageParallelism: o.podParallelism ?? 4,
      nodePlayStageParallelism: 4,
      // Each node's Lease, renewed by kwok: the heartbeat the node lifecycle controller reads.
      nodeLeaseDurationSeconds: 40,
      nodeLeaseParallelism: 4,
      podsOnNodeSyncParallelism: 1,
      enablePodsOnNodeSyncListPager: true,
      enablePodsOnNodeSyncStreamWatch: false,
      // No kubelet API to serve: the server is for /healthz only.
      enableDebuggingHandlers: false,
      enableContentionProfiling: false,
      enableProfilingHandler: false,
    },
  };
  return [config, ...kwokStages(o)].map((d) => stringify(d)).join('---\n');
}
