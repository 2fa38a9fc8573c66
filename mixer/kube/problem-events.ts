/**
 * Reports rejected config objects as Kubernetes Events (type Warning, reason ConfigRejected) on the
 * object itself, so `kubectl describe rule <name>` says why Mixer ignores it. One Event per object
 * and problem text: a problem still there after the next rebuild is not reported again.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import type { ProblemSink } from '../config/controller.ts';
import { ConfigGroup, ConfigVersion, fullName } from '../config/objects.ts';

export const ConfigRejected = 'ConfigRejected';

export function kubeProblemSink(kc: KubeConfig, logger: Logger, instance: string): ProblemSink {
  const core = kc.makeApiClient(CoreV1Api);
  let reported = new Set<string>();
  return {
    report(problems, objects) {
      const uids = new Map(objects.map((o) => [fullName(o), o.uid]));
      const now = new Set<string>();
      for (const p of problems) {
        const key = `${fullName(p)}\u0000${p.message}`;
        now.add(key);
        if (reported.has(key)) continue;
        const uid = uids.get(fullName(p));
        const time = new Date();
        core
          .createNamespacedEvent({
            namespace: p.namespace,
            body: {
              metadata: { generateName: `${p.name}.`, namespace: p.namespace },
              involvedObject: {
                apiVersion: `${ConfigGroup}/${ConfigVersion}`,
                kind: p.kind,
                name: p.name,
                namespace: p.namespace,
                ...(uid ? { uid } : {}),
              },
              reason: ConfigRejected,
              message: p.message.slice(0, 1000),
              type: 'Warning',
              source: { component: 'istio-mixer' },
              reportingComponent: 'istio-mixer',
              reportingInstance: instance,
              firstTimestamp: time,
              lastTimestamp: time,
              count: 1,
            },
          })
          .catch((e: unknown) => {
            logger.warn(
              { object: fullName(p), err: errorMessage(e) },
              'could not record an Event for a rejected config object',
            );
          });
      }
      reported = now;
    },
  };
}
