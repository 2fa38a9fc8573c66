/**
 * `redisquota`: rate limits counted in Redis, so every Mixer replica shares them. Spec:
 * `redisServerUrl` (`host:port` or `redis://…`), `quotas[]` of `{name, maxAmount, validDuration,
 * bucketDuration, rateLimitAlgorithm: FIXED_WINDOW | ROLLING_WINDOW, overrides[] {dimensions,
 * maxAmount}}`, `connectionPoolSize` (accepted for compatibility; one multiplexed connection is
 * used). Each charge is one Lua script (atomic); retries with the same deduplication id are
 * answered from Redis for `minDeduplicationDuration` (1 s).
 *
 * Client: node-redis (`redis`, maintained by Redis Inc., typed, reconnects by itself). Commands
 * are not queued while disconnected, and each has a timeout, so with Redis down a quota call
 * fails at once and Mixer's fail policy answers; the client keeps reconnecting in the background,
 * so Mixer recovers without a restart.
 */
import { createClient } from 'redis';
import { ErrorCode, IstioLiteError, errorMessage } from '../../lib/errors.ts';
import type { Adapter, QuotaResult } from '../adapter.ts';
import { counterKey, findQuota, limitFor, readQuotas } from './quota-config.ts';
import { fixedWindowScript, rollingWindowScript } from './redis-scripts.ts';

const Algorithm = ['FIXED_WINDOW', 'ROLLING_WINDOW'] as const;
type Algorithm = (typeof Algorithm)[number];

const commandTimeoutMs = 1000;
const dedupMs = 1000;

function redisUrl(s: string): string {
  if (/^rediss?:\/\//.test(s)) return s;
  if (/^[^/:]+:\d{1,5}$/.test(s) || /^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(s)) return `redis://${s}`;
  throw new Error(`"${s}" is not host:port or a redis:// URL`);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => {
      reject(new Error(`no answer from Redis within ${String(ms)} ms`));
    }, ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

export const redisquota: Adapter = {
  name: 'redisquota',
  description: 'Rate limits counted in Redis, shared by every Mixer replica.',
  templates: ['quota'],
  create(spec, env) {
    const algorithms = new Map<string, Algorithm>();
    const quotas = readQuotas(spec, true, (q) => {
      algorithms.set(
        q.string('name', ''),
        q.oneOf('rateLimitAlgorithm', Algorithm, 'FIXED_WINDOW'),
      );
    });
    quotas.forEach((q, i) => {
      if (q.validDurationMs <= 0)
        spec.fail(`quotas[${String(i)}].validDuration`, 'must be more than 0s');
      if (algorithms.get(q.name) === 'ROLLING_WINDOW' && q.bucketDurationMs <= 0) {
        spec.fail(`quotas[${String(i)}].bucketDuration`, 'is required with ROLLING_WINDOW');
      }
    });
    let url: string;
    try {
      url = redisUrl(spec.requiredString('redisServerUrl'));
    } catch (e) {
      return spec.fail('redisServerUrl', errorMessage(e));
    }
    spec.integer('connectionPoolSize', 0);
    spec.done();

    const log = env.logger.child({ handler: env.name });
    let lastError = 'not connected yet';
    let down = false;
    const client = createClient({
      url,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: 2000,
        reconnectStrategy: (retries: number) => Math.min(100 * (retries + 1), 2000),
      },
    });
    client.on('error', (e: unknown) => {
      lastError = errorMessage(e);
      if (!down)
        log.warn({ url, err: lastError }, 'Redis unavailable; quota calls fail until it is back');
      down = true;
    });
    client.on('ready', () => {
      if (down) log.info({ url }, 'Redis connection restored');
      down = false;
    });
    client.connect().catch((e: unknown) => {
      lastError = errorMessage(e);
    });

    return {
      validateInstance(i) {
        return findQuota(quotas, i.name) ? undefined : `redisquota has no quota named ${i.name}`;
      },
      async quota(instance, args): Promise<QuotaResult> {
        const q = findQuota(quotas, instance.name);
        if (q === undefined) return { granted: args.amount, validDurationMs: 0 };
        if (!client.isReady) {
          throw new IstioLiteError(
            ErrorCode.External,
            `Redis at ${url} is unavailable (${lastError})`,
          );
        }
        const { limit, override } = limitFor(q, instance.dimensions);
        const rolling = algorithms.get(q.name) === 'ROLLING_WINDOW';
        const key = `istio-lite:quota:${String(override)};${counterKey(q.name, instance.dimensions)}`;
        const dedupKey =
          args.deduplicationId === ''
            ? ''
            : `istio-lite:dedup:${instance.name};${args.deduplicationId}`;
        let reply: unknown;
        try {
          reply = await withTimeout(
            client.eval(rolling ? rollingWindowScript : fixedWindowScript, {
              keys: [key, dedupKey],
              arguments: [
                String(args.amount),
                String(limit.maxAmount),
                String(limit.validDurationMs),
                String(limit.bucketDurationMs > 0 ? limit.bucketDurationMs : limit.validDurationMs),
                args.bestEffort ? '1' : '0',
                String(dedupMs),
              ],
            }),
            commandTimeoutMs,
          );
        } catch (e) {
          throw new IstioLiteError(ErrorCode.External, `Redis at ${url}: ${errorMessage(e)}`, {
            cause: e,
          });
        }
        if (!Array.isArray(reply) || typeof reply[0] !== 'number') {
          throw new IstioLiteError(
            ErrorCode.External,
            `Redis at ${url} answered the quota script unexpectedly`,
          );
        }
        return { granted: reply[0], validDurationMs: limit.validDurationMs };
      },
      async close() {
        try {
          await client.close();
        } catch {
          client.destroy();
        }
      },
    };
  },
};
