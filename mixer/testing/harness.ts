/**
 * Test helpers: a config controller over YAML text with a private Prometheus registry and captured
 * stdout/stderr, a silent logger, and the example config from mixer/examples.
 */
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { createLogger, type Logger } from '../../lib/log.ts';
import { createRegistry, type Registry } from '../../lib/metrics.ts';
import type { Adapter, HandlerEnv, Template } from '../adapter.ts';
import { AdapterRegistry } from '../adapter-registry.ts';
import { builtinAdapters } from '../adapters/index.ts';
import { ConfigController } from '../config/controller.ts';
import type { ConfigObject } from '../config/objects.ts';
import { configObjectsFromYaml } from '../config/yaml-objects.ts';

export const exampleFiles = [
  'deny.yaml',
  'whitelist.yaml',
  'ratelimit.yaml',
  'telemetry.yaml',
] as const;

export function example(file: (typeof exampleFiles)[number]): string {
  return readFileSync(new URL(`../examples/${file}`, import.meta.url), 'utf8');
}

export function exampleObjects(
  files: readonly (typeof exampleFiles)[number][] = exampleFiles,
): ConfigObject[] {
  return files.flatMap((f) => configObjectsFromYaml(example(f), f, 'default'));
}

/** Collects what is written to a stream, line by line. */
export class Capture extends PassThrough {
  text = '';

  constructor() {
    super();
    this.on('data', (d: Buffer) => {
      this.text += d.toString();
    });
  }

  lines(): string[] {
    return this.text.split('\n').filter((l) => l !== '');
  }
}

export interface Harness {
  readonly controller: ConfigController;
  readonly metrics: Registry;
  readonly stdout: Capture;
  readonly stderr: Capture;
  readonly logger: Logger;
  readonly envFor: (name: string) => HandlerEnv;
}

export function silentLogger(): Logger {
  return createLogger('test', { level: process.env['LOG_LEVEL'] ?? 'silent' });
}

export function harness(
  options: {
    extraAdapters?: readonly Adapter[];
    extraTemplates?: readonly Template[];
    now?: () => number;
  } = {},
): Harness {
  const metrics = createRegistry('mixer_test', false);
  const stdout = new Capture();
  const stderr = new Capture();
  const logger = silentLogger();
  const envFor = (name: string): HandlerEnv => ({
    name,
    logger,
    metrics,
    now: options.now ?? Date.now,
    stdout,
    stderr,
  });
  const controller = new ConfigController({
    registry: new AdapterRegistry(
      [...builtinAdapters, ...(options.extraAdapters ?? [])],
      options.extraTemplates ?? [],
    ),
    logger,
    defaultNamespace: 'istio-system',
    envFor,
    debounceMs: 5,
  });
  return { controller, metrics, stdout, stderr, logger, envFor };
}
