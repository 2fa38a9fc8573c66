/**
 * The server side of bench/webhook, run in its own process (pinned to one core by run.ts):
 * `inject` serves the real webhook (engine, patch, metrics, a JSON log line per admission at info,
 * as the chart runs it, written in batches as `istio-lite webhook` writes them, to /dev/null);
 * `echo` is a bare node:https server with the same TLS settings and keep-alive that reads the body
 * and answers a fixed AdmissionReview of the webhook's size (the floor any HTTPS webhook in Node pays). Prints the port on stdout; SIGTERM
 * closes the server and exits (so `node --cpu-prof` writes its profile).
 *   server.ts inject|echo [LOG_LEVEL]
 */
import { openSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { batchedDestination, createLogger } from '../../lib/log.ts';
import { createRegistry } from '../../lib/metrics.ts';
import { opensslServingCerts } from '../../lib/testing/openssl-certs.ts';
import { startDefaultWebhook } from '../../webhook/testing/default-server.ts';

const [mode, level = 'info'] = process.argv.slice(2);
const certs = opensslServingCerts('bench');
/** The webhook's TLS settings (webhook/server.ts), so the echo pays the same handshake and records. */
const tlsOptions = { cert: certs.cert, key: certs.key, minVersion: 'TLSv1.2' as const };

/** The webhook's answer to the bench review (its golden file), split around the uid. */
function echoAnswer(): (uid: string) => string {
  const golden = readFileSync(
    new URL('../../testdata/webhook/productpage.response.json', import.meta.url),
    'utf8',
  );
  const [before, after] = golden.split('"uid":"bench-0"');
  if (after === undefined) throw new Error('productpage.response.json has no uid bench-0');
  return (uid) => `${before ?? ''}"uid":${JSON.stringify(uid)}${after}`;
}

let close: () => Promise<void>;
if (mode === 'echo') {
  const answer = echoAnswer();
  const server: Server = createServer(tlsOptions, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const uid = /"uid":"([^"]+)"/.exec(Buffer.concat(chunks).toString())?.[1] ?? '';
      const body = answer(uid);
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`${String((server.address() as AddressInfo).port)}\n`);
  close = () =>
    new Promise((resolve) => {
      server.close(() => {
        resolve();
      });
      server.closeAllConnections();
    });
} else if (mode === 'inject') {
  const registry = createRegistry('bench', false);
  const logger = createLogger('bench', {
    level,
    destination: batchedDestination(openSync('/dev/null', 'w')),
  });
  const s = await startDefaultWebhook(certs, logger, registry);
  process.stdout.write(`${String(s.port)}\n`);
  close = () => {
    s.server.closeAllConnections();
    return s.close();
  };
} else {
  process.stderr.write('usage: server.ts inject|echo [LOG_LEVEL]\n');
  process.exit(2);
}

process.once('SIGTERM', () => {
  void close().finally(() => process.exit(0));
});
