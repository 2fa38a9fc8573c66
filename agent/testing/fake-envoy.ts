/**
 * A stand-in for the Envoy binary in process-supervision tests (Envoy is not installed here; the
 * kind suite runs the real one). Written to a temp file as an executable script: it reads `-c`,
 * serves admin `/ready` (LIVE) and `POST /drain_listeners` on the bootstrap's admin port, and
 * appends every event (start with its args, drain, signals, exit) as a JSON line to a log file.
 * FAKE_ENVOY_MODE: `crash` exits 1 shortly after start; `ignore-term` ignores SIGTERM.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const script = `
const fs = require('node:fs');
const http = require('node:http');
const log = (event, extra) => fs.appendFileSync(process.env.FAKE_ENVOY_LOG, JSON.stringify({ event, t: Date.now(), pid: process.pid, ...extra }) + '\\n');
const args = process.argv.slice(2);
const config = JSON.parse(fs.readFileSync(args[args.indexOf('-c') + 1], 'utf8'));
const port = config.admin.address.socket_address.port_value;
const mode = process.env.FAKE_ENVOY_MODE || '';
log('start', { args });
const admin = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/ready') return res.end('LIVE\\n');
  if (req.method === 'POST' && req.url.startsWith('/drain_listeners')) { log('drain', { url: req.url }); return res.end('OK\\n'); }
  res.statusCode = 404; res.end();
});
admin.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  log('SIGTERM');
  if (mode === 'ignore-term') return;
  admin.close();
  setTimeout(() => { log('exit'); process.exit(0); }, 20);
});
if (mode === 'crash') setTimeout(() => { log('crash'); process.exit(1); }, 100);
`;

export interface FakeEnvoyEvent {
  readonly event: 'start' | 'drain' | 'SIGTERM' | 'exit' | 'crash';
  readonly t: number;
  readonly pid: number;
  readonly args?: string[];
  readonly url?: string;
}

/** Writes the fake binary into `dir`; returns its path and a reader of its event log. */
export function writeFakeEnvoy(dir: string): {
  binary: string;
  logFile: string;
  events(): FakeEnvoyEvent[];
} {
  const binary = join(dir, 'envoy');
  const logFile = join(dir, 'envoy-events.jsonl');
  writeFileSync(binary, `#!${process.execPath}\n${script}`);
  chmodSync(binary, 0o755);
  writeFileSync(logFile, '');
  return {
    binary,
    logFile,
    events: () =>
      readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as FakeEnvoyEvent),
  };
}
