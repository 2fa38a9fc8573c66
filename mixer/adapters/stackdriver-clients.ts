/**
 * The stackdriver adapter's way out: Google's official Node clients (@google-cloud/monitoring's
 * MetricServiceClient for CreateTimeSeries, @google-cloud/logging's LoggingServiceV2Client for
 * WriteLogEntries), imported only when a stackdriver handler first sends (they cost tens of MB and
 * seconds to load; mixer/README.md), and only the one it needs.
 *
 * Options: the project; an endpoint other than Google's (`apiEndpoint` and `port`; `http://`
 * means plaintext without credentials, through `sslCreds`); credentials from a service account
 * key file (`keyFilename`), an API key (`apiKey`), or application default credentials. The
 * universe domain is given, so the client never asks the credentials (or the GCE metadata
 * server) for it.
 */
import { credentials } from '@grpc/grpc-js';
import type { StackdriverConfig } from './stackdriver-config.ts';

export interface TimeSeriesWriter {
  createTimeSeries(request: { name: string; timeSeries: object[] }): Promise<unknown>;
  close(): Promise<void>;
}

export interface LogWriter {
  writeLogEntries(request: { entries: object[]; partialSuccess: boolean }): Promise<unknown>;
  close(): Promise<void>;
}

/** What the Google clients' constructors take, for this config. */
export function clientOptions(cfg: StackdriverConfig): Record<string, unknown> {
  const o: Record<string, unknown> = { projectId: cfg.projectId, universeDomain: 'googleapis.com' };
  if (cfg.endpoint) {
    o['apiEndpoint'] = cfg.endpoint.host;
    o['port'] = cfg.endpoint.port;
    if (cfg.endpoint.plaintext) {
      o['sslCreds'] = credentials.createInsecure();
      return o;
    }
  }
  const c = cfg.credentials;
  if (c.kind === 'apiKey') o['apiKey'] = c.apiKey;
  if (c.kind === 'serviceAccount') o['keyFilename'] = c.path;
  return o;
}

type Ctor<T> = new (options: Record<string, unknown>) => T;

function constructorOf<T>(mod: unknown, path: readonly string[], what: string): Ctor<T> {
  let v: unknown = mod;
  for (const k of path)
    v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined;
  if (typeof v !== 'function') throw new Error(`${what} is missing from the installed package`);
  return v as Ctor<T>;
}

export async function openTimeSeriesWriter(cfg: StackdriverConfig): Promise<TimeSeriesWriter> {
  const mod: unknown = await import('@google-cloud/monitoring');
  const Client = constructorOf<TimeSeriesWriter>(
    mod,
    ['MetricServiceClient'],
    'MetricServiceClient',
  );
  return new Client(clientOptions(cfg));
}

export async function openLogWriter(cfg: StackdriverConfig): Promise<LogWriter> {
  const mod: unknown = await import('@google-cloud/logging');
  const Client = constructorOf<LogWriter>(
    mod,
    ['v2', 'LoggingServiceV2Client'],
    'v2.LoggingServiceV2Client',
  );
  return new Client(clientOptions(cfg));
}
