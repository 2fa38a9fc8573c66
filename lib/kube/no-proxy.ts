/** Keeping loopback traffic (the local cluster, webhooks on loopback) away from HTTP proxies. */

/** Hosts that must never go through an HTTP proxy: the local cluster and webhooks on loopback. */
const loopbackHosts = ['127.0.0.1', 'localhost', '::1'] as const;

/**
 * Adds 127.0.0.1, localhost and ::1 to NO_PROXY and no_proxy (keeping what is there), so a proxy
 * configured on the machine never sees loopback traffic. Returns the new value.
 */
export function ensureNoProxy(env: NodeJS.ProcessEnv = process.env): string {
  const current = env['NO_PROXY'] ?? env['no_proxy'] ?? '';
  const parts = current
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const h of loopbackHosts) if (!parts.includes(h)) parts.push(h);
  const value = parts.join(',');
  env['NO_PROXY'] = value;
  env['no_proxy'] = value;
  return value;
}
