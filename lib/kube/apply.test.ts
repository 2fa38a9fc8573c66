import assert from 'node:assert/strict';
import { applyObjects } from './apply.ts';
import { KubeConfig } from '@kubernetes/client-node';

describe('applyObjects', () => {
  it('refuses an object without apiVersion, kind or name before any request', async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    await assert.rejects(
      applyObjects(kc, [{ kind: 'ConfigMap', metadata: {} }]),
      /needs apiVersion, kind and metadata\.name/,
    );
  });
});
