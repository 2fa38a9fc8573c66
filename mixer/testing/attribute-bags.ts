/**
 * Attribute sets tests send Mixer: the Bookinfo call reviews -> ratings that the mixer/examples
 * rules (deny, whitelist, quota) are written against, with the caller's version as given.
 */
import type { Value } from '../../lib/mixer/value.ts';

export function reviewsToRatings(
  version: string,
  extra: [string, Value][] = [],
): Map<string, Value> {
  return new Map<string, Value>([
    [
      'source.labels',
      new Map([
        ['app', 'reviews'],
        ['version', version],
      ]),
    ],
    ['source.service', 'reviews.default.svc.cluster.local'],
    [
      'destination.labels',
      new Map([
        ['app', 'ratings'],
        ['version', 'v1'],
      ]),
    ],
    ['destination.service', 'ratings.default.svc.cluster.local'],
    ['request.path', '/ratings/0'],
    ...extra,
  ]);
}
