/**
 * `stackdriver`: metric instances to Cloud Monitoring (CreateTimeSeries) and logentry instances to
 * Cloud Logging (WriteLogEntries) through Google's official Node clients, configured as Istio 0.2
 * configured it (stackdriver-config.ts). Metrics are gathered and pushed every `pushInterval`
 * (default 1m), at most 200 series a request; log entries are sent a second after the first one
 * waits, or at 1,000, as the Go client 0.2 used batched them. Both are sent on flush (SIGTERM,
 * config change). A failed push is logged and dropped, as 0.2 did. The Google clients load only
 * when a handler first sends (stackdriver-clients.ts).
 */
import { errorMessage } from '../../lib/errors.ts';
import type { Adapter, HandlerEnv, InstanceInfo } from '../adapter.ts';
import {
  openLogWriter,
  openTimeSeriesWriter,
  type LogWriter,
  type TimeSeriesWriter,
} from './stackdriver-clients.ts';
import { readStackdriverConfig, type StackdriverConfig } from './stackdriver-config.ts';
import { logEntry, logInfoProblem } from './stackdriver-logs.ts';
import { MetricBuffer } from './stackdriver-metrics.ts';

const seriesPerRequest = 200;
const entriesPerRequest = 1000;
const logDelayMs = 1000;

function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/** Sends one kind of data in order, one batch after another; failures are logged, not thrown. */
function sender<W extends { close(): Promise<void> }>(
  env: HandlerEnv,
  what: string,
  open: () => Promise<W>,
) {
  let writer: Promise<W> | undefined;
  let chain: Promise<void> = Promise.resolve();
  let warnedAt = -Infinity;
  return {
    send(work: (w: W) => Promise<void>): void {
      chain = chain.then(async () => {
        try {
          writer ??= open();
          await work(await writer);
        } catch (e) {
          if (env.now() - warnedAt < 10_000) return;
          warnedAt = env.now();
          env.logger.warn(
            { handler: env.name, err: errorMessage(e) },
            `stackdriver: ${what} dropped`,
          );
        }
      });
    },
    idle: () => chain,
    async close(): Promise<void> {
      await chain;
      const w = await writer?.catch(() => undefined);
      await w?.close();
    },
  };
}

function validate(cfg: StackdriverConfig, i: InstanceInfo): string | undefined {
  if (i.template === 'metric') {
    return cfg.metricInfo.has(i.name) ? undefined : `no metricInfo for ${i.name}`;
  }
  if (i.template === 'logentry') {
    const info = cfg.logInfo.get(i.name);
    return info ? logInfoProblem(i.name, info, i.keys) : `no logInfo for ${i.name}`;
  }
  return undefined;
}

export const stackdriver: Adapter = {
  name: 'stackdriver',
  description: 'Metrics to Cloud Monitoring and log entries to Cloud Logging (Stackdriver).',
  templates: ['metric', 'logentry'],
  create(spec, env) {
    const cfg = readStackdriverConfig(spec);
    const metrics = new MetricBuffer(cfg.metricInfo, cfg.projectId, env.now());
    const project = `projects/${cfg.projectId}`;
    const monitoring = sender<TimeSeriesWriter>(env, 'metrics', () => openTimeSeriesWriter(cfg));
    const logging = sender<LogWriter>(env, 'log entries', () => openLogWriter(cfg));
    let entries: object[] = [];
    let logTimer: NodeJS.Timeout | undefined;
    let recordWarnedAt = -Infinity;

    const pushMetrics = () => {
      const series = metrics.drain(env.now());
      if (series.length === 0) return;
      monitoring.send(async (w) => {
        for (const timeSeries of chunks(series, seriesPerRequest)) {
          await w.createTimeSeries({ name: project, timeSeries });
        }
      });
    };
    const pushLogs = () => {
      clearTimeout(logTimer);
      logTimer = undefined;
      if (entries.length === 0) return;
      const batch = entries;
      entries = [];
      logging.send(async (w) => {
        for (const list of chunks(batch, entriesPerRequest)) {
          await w.writeLogEntries({ entries: list, partialSuccess: true });
        }
      });
    };
    const metricTimer = setInterval(pushMetrics, cfg.pushIntervalMs);
    metricTimer.unref();

    return {
      validateInstance: (i) => validate(cfg, i),
      report(instances) {
        for (const i of instances) {
          if (i.template === 'metric') {
            const why = metrics.record(i, env.now());
            if (why !== undefined && env.now() - recordWarnedAt > 10_000) {
              recordWarnedAt = env.now();
              env.logger.warn({ handler: env.name, problem: why }, 'stackdriver: metric skipped');
            }
          } else if (i.template === 'logentry') {
            const info = cfg.logInfo.get(i.name);
            if (info) entries.push(logEntry(i, info, cfg.projectId));
          }
        }
        if (entries.length >= entriesPerRequest) pushLogs();
        else if (entries.length > 0 && logTimer === undefined) {
          logTimer = setTimeout(pushLogs, logDelayMs);
          logTimer.unref();
        }
      },
      async flush() {
        pushMetrics();
        pushLogs();
        await Promise.all([monitoring.idle(), logging.idle()]);
      },
      async close() {
        clearInterval(metricTimer);
        pushMetrics();
        pushLogs();
        await Promise.all([monitoring.close(), logging.close()]);
      },
    };
  },
};
