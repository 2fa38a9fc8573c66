/**
 * `istio-lite dashboard`'s options: where it listens (loopback unless told), how often it reads
 * Mixer and Pilot, where the request metrics come from, and how to find the control plane.
 */
import { option } from '../../lib/config/options.ts';
import { planeOptions } from '../plane-options.ts';

export const dashboardOptions = {
  port: option.port(8088, 'HTTP port of the page (Istio 0.2 servicegraph port)'),
  address: option.text(
    '127.0.0.1',
    'listen address (loopback; 0.0.0.0 to serve others, as in a pod)',
    {
      placeholder: 'IP',
    },
  ),
  interval: option.duration('5s', 'how often Mixer and Pilot are read', { minMs: 500 }),
  prometheus: option.string(
    "a Prometheus server's URL to read the request metrics from (else Mixer's /metrics)",
    {
      placeholder: 'URL',
      check: (v) => (/^https?:\/\/[^/]/.test(v) ? undefined : 'is not an http(s) URL'),
    },
  ),
  ...planeOptions,
};
