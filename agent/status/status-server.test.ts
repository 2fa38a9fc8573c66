import assert from 'node:assert/strict';
import { createServer as createHttp, type Server } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { createServer as createTcp, type AddressInfo, type Server as TcpServer } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { createRegistry } from '../../lib/metrics.ts';
import { opensslServingCerts } from '../../lib/testing/openssl-certs.ts';
import { HealthService, ServingStatus, healthHandlers } from '../grpc/health.ts';
import { parseProbers } from './probers.ts';
import { Readiness } from './readiness.ts';
import { listenHttp, readinessHandler, statusHandler, type HttpListener } from './status-server.ts';

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });

function port(s: Server | TcpServer): number {
  return (s.address() as AddressInfo).port;
}

async function listen(s: Server | TcpServer): Promise<number> {
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return port(s);
}

describe('status server: rewritten application probes against real servers', function () {
  this.timeout(10_000);
  const app = createHttp((req, res) => {
    if (req.url === '/ready') res.writeHead(200).end('ok');
    else if (req.url === '/needs-header')
      res.writeHead(req.headers['x-probe'] === 'yes' ? 204 : 401).end();
    else if (req.url === '/moved') res.writeHead(302, { location: '/elsewhere' }).end();
    else res.writeHead(500).end('broken');
  });
  const certs = opensslServingCerts();
  const secure = createHttps({ cert: certs.cert, key: certs.key }, (_req, res) => {
    res.writeHead(200).end('secure ok');
  });
  const tcp = createTcp((s) => s.end());
  const closed = createTcp();
  const grpcApp = new grpc.Server();
  const health = new Map<string, ServingStatus>([
    ['', ServingStatus.SERVING],
    ['orders', ServingStatus.SERVING],
    ['payments', ServingStatus.NOT_SERVING],
  ]);
  grpcApp.addService(
    HealthService,
    healthHandlers((s) => health.get(s)),
  );
  const readiness = new Readiness();
  let notReadyReason: string | undefined = 'no listeners from Pilot yet';
  readiness.add({ name: 'xds', check: () => notReadyReason });
  let status: HttpListener;
  let ready: HttpListener;
  const metrics = createRegistry('agent', false);

  before(async () => {
    const appPort = await listen(app);
    const securePort = await listen(secure);
    const tcpPort = await listen(tcp);
    const closedPort = await listen(closed);
    await new Promise<void>((r) =>
      closed.close(() => {
        r();
      }),
    );
    const grpcPort = await new Promise<number>((resolve, reject) => {
      grpcApp.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => {
        if (e) reject(e);
        else resolve(p);
      });
    });
    // The env var exactly as the injector writes it (webhook/probes.ts).
    const probers = parseProbers(
      JSON.stringify({
        '/app-health/web/readyz': { httpGet: { path: '/ready', port: appPort }, timeoutSeconds: 1 },
        '/app-health/web/livez': { httpGet: { path: '/broken', port: appPort }, timeoutSeconds: 1 },
        '/app-health/web/startupz': {
          httpGet: {
            path: '/needs-header',
            port: appPort,
            httpHeaders: [{ name: 'X-Probe', value: 'yes' }],
          },
          timeoutSeconds: 1,
        },
        '/app-health/moved/readyz': { httpGet: { path: '/moved', port: appPort } },
        '/app-health/tls/readyz': {
          httpGet: { path: '/', port: securePort, scheme: 'HTTPS' },
          timeoutSeconds: 2,
        },
        '/app-health/db/readyz': { tcpSocket: { port: tcpPort }, timeoutSeconds: 1 },
        '/app-health/db/livez': { tcpSocket: { port: closedPort }, timeoutSeconds: 1 },
        '/app-health/grpc/readyz': { grpc: { port: grpcPort, service: 'orders' } },
        '/app-health/grpc/livez': { grpc: { port: grpcPort, service: 'payments' } },
        '/app-health/grpc/startupz': { grpc: { port: grpcPort, service: 'nobody' } },
      }),
    );
    status = await listenHttp(
      statusHandler({ probers, appHost: '127.0.0.1', readiness, metrics, logger }),
      '127.0.0.1',
      0,
    );
    ready = await listenHttp(readinessHandler(readiness), '127.0.0.1', 0);
  });

  after(async () => {
    await status.close();
    await ready.close();
    app.close();
    secure.close();
    tcp.close();
    grpcApp.forceShutdown();
  });

  const cases: { name: string; path: string; want: number; body?: RegExp }[] = [
    { name: 'HTTP 200', path: '/app-health/web/readyz', want: 200, body: /HTTP 200/ },
    { name: 'HTTP 500', path: '/app-health/web/livez', want: 503, body: /HTTP 500/ },
    { name: 'HTTP with the probe headers', path: '/app-health/web/startupz', want: 200 },
    { name: 'HTTP redirect (3xx counts)', path: '/app-health/moved/readyz', want: 200 },
    { name: 'HTTPS, certificate not verified', path: '/app-health/tls/readyz', want: 200 },
    { name: 'TCP open port', path: '/app-health/db/readyz', want: 200, body: /connected/ },
    { name: 'TCP closed port', path: '/app-health/db/livez', want: 503, body: /ECONNREFUSED/ },
    { name: 'gRPC SERVING', path: '/app-health/grpc/readyz', want: 200, body: /SERVING/ },
    { name: 'gRPC NOT_SERVING', path: '/app-health/grpc/livez', want: 503, body: /NOT_SERVING/ },
    {
      name: 'gRPC unknown service',
      path: '/app-health/grpc/startupz',
      want: 503,
      body: /NOT_FOUND|unknown service/,
    },
    { name: 'a probe nobody declared', path: '/app-health/other/readyz', want: 404 },
    { name: 'the agent itself', path: '/healthz', want: 200 },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.path} → ${c.want}`, async () => {
      const r = await fetch(`http://127.0.0.1:${status.port}${c.path}`);
      const body = await r.text();
      assert.equal(r.status, c.want, body);
      if (c.body) assert.match(body, c.body);
    });
  }

  it('counts probes in /metrics', async () => {
    const r = await fetch(`http://127.0.0.1:${status.port}/metrics`);
    assert.match(
      await r.text(),
      /istio_agent_app_probes_total\{probe="\/app-health\/web\/readyz",result="success"\} [1-9]/,
    );
  });

  it('readiness on 15021 says why until every check passes', async () => {
    notReadyReason = 'no listeners from Pilot yet';
    let r = await fetch(`http://127.0.0.1:${ready.port}/healthz/ready`);
    assert.equal(r.status, 503);
    assert.match(await r.text(), /xds: no listeners from Pilot yet/);
    notReadyReason = undefined;
    r = await fetch(`http://127.0.0.1:${ready.port}/healthz/ready`);
    assert.equal(r.status, 200);
    r = await fetch(`http://127.0.0.1:${status.port}/healthz/ready`);
    assert.equal(r.status, 200);
    r = await fetch(`http://127.0.0.1:${ready.port}/app-health/web/readyz`);
    assert.equal(r.status, 404, 'the readiness port serves readiness only');
  });
});
