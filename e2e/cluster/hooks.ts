/**
 * Root hooks of the cluster tier (loaded by .mocharc.cluster.json): stop the shared local cluster
 * once every suite has run.
 */
import { stopSharedCluster } from './local-cluster.ts';

export const mochaHooks = {
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000);
    await stopSharedCluster();
  },
};
