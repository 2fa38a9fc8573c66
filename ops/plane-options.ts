/**
 * The options every operator command takes to find the control plane (ops/control-plane.ts), and
 * the notes its `--help` prints about them.
 */
import { option } from '../lib/config/options.ts';
import { findControlPlane, localEndpointsFile, type ControlPlane } from './control-plane.ts';

export const planeOptions = {
  xdsAddress: option.hostPort("a Pilot's xDS address to read (instead of finding Pilot)"),
  kubeconfig: option.string('kubeconfig (default: KUBECONFIG, in-cluster, ~/.kube/config)', {
    placeholder: 'FILE',
  }),
  istioNamespace: option.text('istio-system', 'the control plane namespace', {
    short: 'i',
    placeholder: 'NS',
  }),
};

export const planeNotes = [
  'Finding the control plane: --xdsAddress HOST:PORT reads that Pilot over xDS; else, under',
  `\`npm start\`, ${localEndpointsFile} in the current folder (unless --kubeconfig is given); else`,
  'every replica behind the istio-pilot Service in --istioNamespace, through the API server.',
].join('\n');

export interface PlaneValues {
  readonly xdsAddress: string | undefined;
  readonly kubeconfig: string | undefined;
  readonly istioNamespace: string;
}

export function planeFrom(
  v: PlaneValues,
  io: { readonly cwd: string; readonly env: NodeJS.ProcessEnv },
): ControlPlane {
  return findControlPlane({
    xdsAddress: v.xdsAddress,
    kubeconfig: v.kubeconfig,
    istioNamespace: v.istioNamespace,
    cwd: io.cwd,
    env: io.env,
  });
}
