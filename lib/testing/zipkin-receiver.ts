/**
 * A stand-in Zipkin collector for unit tests: accepts `POST /api/v2/spans` (JSON) on loopback and
 * keeps what arrives. The cluster tier sends to a real Jaeger instead (e2e/cluster/jaeger-server.ts).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The Zipkin v2 fields the tests read. */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly id: string;
  readonly parentId?: string;
  readonly name: string;
  readonly kind?: string;
  readonly duration: number;
  readonly localEndpoint: { readonly serviceName: string };
  readonly tags: Readonly<Record<string, string>>;
}

export interface ZipkinReceiver {
  /** host:port, as `--zipkinAddress` takes it. */
  readonly address: string;
  /** The spans endpoint URL. */
  readonly url: string;
  readonly spans: ReceivedSpan[];
  close(): Promise<void>;
}

export async function startZipkinReceiver(): Promise<ZipkinReceiver> {
  const spans: ReceivedSpan[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/api/v2/spans') {
        res.writeHead(404).end();
        return;
      }
      spans.push(...(JSON.parse(body) as ReceivedSpan[]));
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = `127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  return {
    address,
    url: `http://${address}/api/v2/spans`,
    spans,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
