/** The built-in adapters, registered in one place. A user's own adapters load with --adapterModules. */
import type { Adapter } from '../adapter.ts';
import { denier } from './denier.ts';
import { listchecker } from './listchecker.ts';
import { memquota } from './memquota.ts';
import { prometheus } from './prometheus.ts';
import { redisquota } from './redisquota.ts';
import { stackdriver } from './stackdriver.ts';
import { stdio } from './stdio.ts';
import { statsd } from './statsd.ts';

export const builtinAdapters: readonly Adapter[] = [
  denier,
  listchecker,
  memquota,
  redisquota,
  prometheus,
  stdio,
  statsd,
  stackdriver,
];
