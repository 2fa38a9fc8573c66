/**
 * `listchecker`: a whitelist or blacklist check of a `listentry` instance's value. Entries are the
 * static `overrides` plus, when `providerUrl` is set, a list fetched every `refreshInterval`
 * (kept for `ttl` after the last good fetch). A whitelist miss is NOT_FOUND, a blacklist hit
 * PERMISSION_DENIED. Answers may be cached by clients for `cachingInterval` / `cachingUseCount`.
 * Until a provider's first fetch succeeds (or after its list expired) checks fail, and Mixer's
 * fail policy decides.
 */
import { ErrorCode, IstioLiteError, errorMessage } from '../../lib/errors.ts';
import { formatValue } from '../../lib/mixer/value.ts';
import { Code, type Adapter, type CheckResult } from '../adapter.ts';
import { EntryType, buildEntries, parseProviderBody, type ListEntries } from './list-entries.ts';

export const listchecker: Adapter = {
  name: 'listchecker',
  description: 'Checks a value against a whitelist or blacklist (static, or fetched from a URL).',
  templates: ['listentry'],
  create(spec, env) {
    const providerUrl = spec.string('providerUrl', '');
    const refreshMs = spec.duration('refreshInterval', 60_000);
    const ttlMs = spec.duration('ttl', 300_000);
    const cachingMs = spec.duration('cachingInterval', 300_000);
    const cachingUses = spec.integer('cachingUseCount', 10_000, 0, 2 ** 31 - 1);
    const entryType = spec.oneOf('entryType', EntryType, 'STRINGS');
    const blacklist = spec.boolean('blacklist', false);
    const overridesList = spec.stringList('overrides');
    let overrides: ListEntries;
    try {
      overrides = buildEntries(entryType, overridesList);
    } catch (e) {
      spec.fail('overrides', errorMessage(e));
    }
    if (providerUrl !== '' && !/^https?:\/\//.test(providerUrl)) {
      spec.fail('providerUrl', `"${providerUrl}" is not an http(s) URL`);
    }
    if (providerUrl !== '' && refreshMs <= 0) spec.fail('refreshInterval', 'must be more than 0s');
    spec.done();

    let fetched: { entries: ListEntries; at: number } | undefined;
    let lastError = 'not fetched yet';
    let timer: NodeJS.Timeout | undefined;
    const abort = new AbortController();
    const log = env.logger.child({ handler: env.name });

    async function refresh(): Promise<void> {
      try {
        const res = await fetch(providerUrl, {
          signal: AbortSignal.any([abort.signal, AbortSignal.timeout(10_000)]),
        });
        if (!res.ok) throw new Error(`HTTP ${String(res.status)}`);
        const entries = buildEntries(entryType, parseProviderBody(await res.text()));
        fetched = { entries, at: env.now() };
        log.debug({ entries: entries.size }, 'list fetched');
      } catch (e) {
        if (abort.signal.aborted) return;
        lastError = errorMessage(e);
        log.warn({ url: providerUrl, err: lastError }, 'list fetch failed');
      }
    }
    if (providerUrl !== '') {
      const loop = () => {
        void refresh().finally(() => {
          if (!abort.signal.aborted) timer = setTimeout(loop, refreshMs);
        });
      };
      loop();
    }

    const answer = (code: number, message: string): CheckResult => ({
      status: { code, message },
      validDurationMs: cachingMs,
      validUseCount: cachingUses,
    });

    return {
      check(instance) {
        if (instance.template !== 'listentry') return answer(Code.OK, '');
        const v = instance.value;
        let found = overrides.has(v);
        if (!found && providerUrl !== '') {
          if (fetched === undefined || env.now() - fetched.at > ttlMs) {
            throw new IstioLiteError(
              ErrorCode.External,
              `list from ${providerUrl} is unavailable (${lastError})`,
            );
          }
          found = fetched.entries.has(v);
        }
        const text = formatValue(v);
        if (blacklist) {
          return found
            ? answer(Code.PERMISSION_DENIED, `${text} is blacklisted`)
            : answer(Code.OK, '');
        }
        return found ? answer(Code.OK, '') : answer(Code.NOT_FOUND, `${text} is not whitelisted`);
      },
      close() {
        abort.abort();
        clearTimeout(timer);
      },
    };
  },
};
