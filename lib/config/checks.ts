/**
 * Checks shared by option tables (lib/config/options.ts `check`): each returns undefined when the
 * value is fine, else the end of a sentence that starts with the flag and its value.
 */

const dnsLike = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** A namespace, trust domain or DNS domain. */
export function dnsName(v: string): string | undefined {
  return dnsLike.test(v) ? undefined : 'is not a DNS-like name';
}

/** An http(s) URL. */
export function httpUrl(v: string): string | undefined {
  return /^https?:\/\/\S+$/.test(v) ? undefined : 'is not an http(s) URL';
}
