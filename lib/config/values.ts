/**
 * The syntaxes of configuration values shared by the config readers and the command-line flags:
 * Go-style durations, Kubernetes resource quantities, and how a wrong value is described in an
 * error message.
 */

/** A value as error messages show it: `string "x"`, `number 3`, `a list`, `an object`, `null`. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)}`;
}

const durationRe = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;

/** Go-style durations as used in Istio configuration ("45s", "1m0s", "500ms"). */
export function isDuration(s: string): boolean {
  return durationRe.test(s);
}

/** Parse a Go-style duration to milliseconds; throws on anything `isDuration` refuses. */
export function durationMs(s: string): number {
  if (!isDuration(s)) throw new Error(`invalid duration ${JSON.stringify(s)}`);
  const unit: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    µs: 1e-3,
    ms: 1,
    s: 1e3,
    m: 6e4,
    h: 3.6e6,
  };
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(m[1]) * (unit[m[2] ?? 's'] ?? 0);
  }
  return total;
}

const quantityRe = /^([+-]?[0-9.]+)([eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE])?$/;

/** Kubernetes resource quantities ("100m", "128Mi", "2"). */
export function isQuantity(s: string): boolean {
  return quantityRe.test(s) && !Number.isNaN(Number.parseFloat(s));
}
