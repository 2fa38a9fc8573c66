/**
 * bench:scale's floor for the webhook: a mutating webhook that does nothing but read each
 * AdmissionReview and allow it unchanged, over HTTPS with keep-alive, in its own process. The
 * bench registers it beside the injector for the same pods (bareWebhookConfiguration), so the API
 * server times both on the same calls, bursts and machine: what it reports for this one is the
 * least any webhook can get there.
 *
 *   bare-webhook.ts CERT_PEM KEY_PEM   (prints the port it listens on, on 127.0.0.1)
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

const [certFile = '', keyFile = ''] = process.argv.slice(2);
const server = createServer(
  { cert: readFileSync(certFile), key: readFileSync(keyFile), keepAliveTimeout: 120_000 },
  (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let uid = '';
      try {
        const review: unknown = JSON.parse(Buffer.concat(chunks).toString());
        const request =
          typeof review === 'object' && review !== null && 'request' in review
            ? review.request
            : undefined;
        if (typeof request === 'object' && request !== null && 'uid' in request)
          uid = String(request.uid);
      } catch {
        res.writeHead(400).end('not an AdmissionReview');
        return;
      }
      const body = JSON.stringify({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: { uid, allowed: true },
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
  },
);
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  process.stdout.write(`${String(typeof a === 'object' && a !== null ? a.port : 0)}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
});
