/**
 * Root hooks of the cluster tier (loaded by .mocharc.cluster.json). Nothing is built inside a test
 * or a hook: `npm test` builds kube-apiserver, kube-controller-manager, kube-scheduler, kwok, etcd,
 * helm, consul, jaeger, the grpc-go client and the Eureka server jar first
 * (scripts/test-setup.sh), and here a missing one fails the run at once, naming what to run,
 * instead of a build timing out in some suite's `before`. At the end, the shared local cluster is stopped.
 */
import {
  BinaryName,
  findBinary,
  missingBinaryError,
  noBuildVar,
} from '../../lib/local-cluster/binaries.ts';
import { stopSharedCluster } from './local-cluster.ts';

// Also reaches the processes the suites spawn (the CLI, the agent), which inherit the environment.
process.env[noBuildVar] = '1';

export const mochaHooks = {
  beforeAll(): void {
    for (const name of Object.values(BinaryName)) {
      if (findBinary(name) === undefined) throw missingBinaryError(name, process.env);
    }
  },
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000);
    await stopSharedCluster();
  },
};
