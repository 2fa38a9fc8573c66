import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createRegistry } from '../../lib/metrics.ts';
import { encodeDiscoveryRequest } from '../../lib/xds/discovery-wire.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import { FileCertificateSource } from '../certs/file-source.ts';
import { LocalGrpcServer } from '../grpc/local-server.ts';
import { SdsService } from '../grpc/raw-service.ts';
import { loadAgentProtos } from '../testing/envoy-protos.ts';
import { SdsTestClient, decodeSecrets, secretRequest } from '../testing/sds-client.ts';
import { testLeaf, testRoot, writeCertFiles, type TestLeaf } from '../testing/workload-certs.ts';
import { SdsServer } from './sds-server.ts';

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });
const secrets = decodeSecrets;
const request = (names: string[], nonce = '', error?: string): Buffer =>
  secretRequest(names, {
    nodeId: 'sidecar~10.1.0.1~reviews-1.shop~shop.svc.cluster.local',
    nonce,
    ...(error === undefined ? {} : { error }),
  });

describe('SDS server (real gRPC client over a Unix socket)', function () {
  this.timeout(20_000);
  let dir: string;
  let source: FileCertificateSource;
  let sds: SdsServer;
  let server: LocalGrpcServer;
  let client: SdsTestClient;
  let leaf1: TestLeaf;
  let leaf2: TestLeaf;
  const metrics = createRegistry('agent', false);
  const open = () => client.stream();

  before(async () => {
    loadAgentProtos();
    const root = testRoot();
    leaf1 = testLeaf(root, 'shop', 'reviews');
    leaf2 = testLeaf(root, 'shop', 'reviews');
    dir = mkdtempSync(join(tmpdir(), 'agent-sds-'));
    source = new FileCertificateSource({ dir, logger, intervalMs: 50 });
    const started = source.start();
    // The Secret volume is optional: the files appear after the agent started.
    await new Promise((r) => setTimeout(r, 150));
    writeCertFiles(dir, leaf1);
    const first = await started;
    assert.equal(first.identity, 'spiffe://cluster.local/ns/shop/sa/reviews');
    sds = new SdsServer({ source, logger, metrics });
    sds.certificateReady(first);
    server = new LocalGrpcServer();
    server.add(SdsService, sds.handlers());
    const socket = join(dir, 'SDS');
    await server.bind(socket);
    client = new SdsTestClient(`unix:${socket}`);
  });

  after(async () => {
    client.close();
    sds.close();
    await server.close();
    source.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves default (chain and key) and ROOTCA (trusted root) on their own streams', async () => {
    const a = open();
    a.call.write(request(['default']));
    const got = secrets(await a.q.next());
    assert.deepEqual(got.secrets, [
      { name: 'default', tls: { chain: leaf1.chainPem, key: leaf1.keyPem } },
    ]);
    a.call.write(request(['default'], got.nonce)); // ACK
    await a.q.none();

    const b = open();
    b.call.write(request(['ROOTCA']));
    const root = secrets(await b.q.next());
    assert.deepEqual(root.secrets, [{ name: 'ROOTCA', root: leaf1.rootPem }]);
    a.call.end();
    b.call.end();
  });

  it('pushes a rotated certificate to the open stream without a new request', async () => {
    const a = open();
    a.call.write(request(['default']));
    const first = secrets(await a.q.next());
    a.call.write(request(['default'], first.nonce));
    writeCertFiles(dir, leaf2);
    const next = secrets(await a.q.next(5000));
    assert.notEqual(next.version, first.version);
    assert.deepEqual(next.secrets, [
      { name: 'default', tls: { chain: leaf2.chainPem, key: leaf2.keyPem } },
    ]);
    a.call.write(request(['default'], next.nonce));
    await a.q.none();
    a.call.end();
  });

  it('keeps serving the last good certificate when the files turn bad', async () => {
    const a = open();
    a.call.write(request(['default']));
    const before = secrets(await a.q.next());
    a.call.write(request(['default'], before.nonce));
    writeFileSync(join(dir, 'key.pem'), leaf1.keyPem); // the other certificate's key
    assert.equal(await source.reload(), false);
    await a.q.none(300);
    writeFileSync(join(dir, 'key.pem'), leaf2.keyPem);
    a.call.end();
  });

  it('does not resend after a NACK, and ignores stale nonces', async () => {
    const a = open();
    a.call.write(request(['default']));
    const got = secrets(await a.q.next());
    a.call.write(request(['default'], 'not-a-nonce-we-sent'));
    await a.q.none();
    a.call.write(request(['default'], got.nonce, 'bad key'));
    await a.q.none();
    const text = await metrics.getSingleMetricAsString('istio_agent_sds_nacks_total');
    assert.match(text, /istio_agent_sds_nacks_total 1/);
    a.call.end();
  });

  it('answers FetchSecrets', async () => {
    const answer = await client.fetch(request(['default', 'ROOTCA']));
    assert.deepEqual(
      answer.secrets.map((s) => s.name),
      ['default', 'ROOTCA'],
    );
  });

  it('refuses a stream asking for another type', async () => {
    const a = open();
    a.call.write(
      Buffer.from(encodeDiscoveryRequest({ typeUrl: TypeUrl.Cluster, resourceNames: [] })),
    );
    assert.match(await a.q.end(), /INVALID_ARGUMENT: SDS serves .*Secret, not .*Cluster/);
  });

  it('refuses a request whose bytes are not a DiscoveryRequest, with INVALID_ARGUMENT', async () => {
    const a = open();
    a.call.write(Buffer.from([0xff, 0xff, 0xff]));
    assert.match(await a.q.end(), /INVALID_ARGUMENT: the request could not be decoded/);
    await assert.rejects(
      client.fetch(Buffer.from([0xff, 0xff, 0xff])),
      /INVALID_ARGUMENT: the request could not be decoded/,
    );
  });
});
