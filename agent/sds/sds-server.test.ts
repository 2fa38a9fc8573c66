import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { createRegistry } from '../../lib/metrics.ts';
import { decodeDiscoveryResponse, encodeDiscoveryRequest } from '../../lib/xds/discovery-wire.ts';
import { assertNoUnknownFields, decodeMessage } from '../../lib/xds/protos.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import { FileCertificateSource } from '../certs/file-source.ts';
import { LocalGrpcServer } from '../grpc/local-server.ts';
import { SdsService, rawClient } from '../grpc/raw-service.ts';
import { loadAgentProtos } from '../testing/envoy-protos.ts';
import { StreamQueue } from '../testing/stream-queue.ts';
import { testLeaf, testRoot, writeCertFiles, type TestLeaf } from '../testing/workload-certs.ts';
import { SdsServer } from './sds-server.ts';

const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'silent' });
const Client = rawClient(SdsService, 'SecretDiscoveryService');

interface Secret {
  name: string;
  tls?: { chain: string; key: string };
  root?: string;
}

function inline(ds: unknown): string {
  const b = (ds as { inline_bytes?: Uint8Array } | undefined)?.inline_bytes;
  return b ? Buffer.from(b).toString('utf8') : '';
}

/** A DiscoveryResponse's secrets, each checked against Envoy's Secret message. */
function secrets(bytes: Buffer): { version: string; nonce: string; secrets: Secret[] } {
  const r = decodeDiscoveryResponse(bytes);
  assert.equal(r.typeUrl, TypeUrl.Secret);
  return {
    version: r.versionInfo,
    nonce: r.nonce,
    secrets: r.resources.map((a) => {
      assert.equal(a.typeUrl, TypeUrl.Secret);
      assertNoUnknownFields(TypeUrl.Secret, a.value);
      const s = decodeMessage(TypeUrl.Secret, a.value) as {
        name: string;
        tls_certificate?: { certificate_chain: unknown; private_key: unknown };
        validation_context?: { trusted_ca: unknown };
      };
      return {
        name: s.name,
        ...(s.tls_certificate
          ? {
              tls: {
                chain: inline(s.tls_certificate.certificate_chain),
                key: inline(s.tls_certificate.private_key),
              },
            }
          : {}),
        ...(s.validation_context ? { root: inline(s.validation_context.trusted_ca) } : {}),
      };
    }),
  };
}

function request(names: string[], nonce = '', error?: string): Buffer {
  return Buffer.from(
    encodeDiscoveryRequest({
      typeUrl: TypeUrl.Secret,
      resourceNames: names,
      responseNonce: nonce,
      node: { id: 'sidecar~10.1.0.1~reviews-1.shop~shop.svc.cluster.local' },
      ...(error ? { errorDetail: { code: 3, message: error } } : {}),
    }),
  );
}

describe('SDS server (real gRPC client over a Unix socket)', function () {
  this.timeout(20_000);
  let dir: string;
  let source: FileCertificateSource;
  let sds: SdsServer;
  let server: LocalGrpcServer;
  let client: grpc.Client;
  let leaf1: TestLeaf;
  let leaf2: TestLeaf;
  const metrics = createRegistry('agent', false);
  const calls: grpc.ClientDuplexStream<Buffer, Buffer>[] = [];

  function open(): { call: grpc.ClientDuplexStream<Buffer, Buffer>; q: StreamQueue<Buffer> } {
    const method = (
      client as unknown as Record<string, () => grpc.ClientDuplexStream<Buffer, Buffer>>
    )['StreamSecrets'];
    const call = method!.call(client);
    calls.push(call);
    return { call, q: new StreamQueue<Buffer>(call) };
  }

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
    client = new Client(`unix:${socket}`, grpc.credentials.createInsecure());
  });

  after(async () => {
    for (const c of calls) c.cancel();
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
    const def = SdsService['FetchSecrets']!;
    const bytes = await new Promise<Buffer>((resolve, reject) => {
      client.makeUnaryRequest(
        def.path,
        (b: Buffer) => b,
        (b: Buffer) => b,
        request(['default', 'ROOTCA']),
        (err, res) => {
          if (err || !res) reject(err ?? new Error('empty'));
          else resolve(res);
        },
      );
    });
    assert.deepEqual(
      secrets(bytes).secrets.map((s) => s.name),
      ['default', 'ROOTCA'],
    );
  });

  it('refuses a stream asking for another type', async () => {
    const a = open();
    a.call.write(
      Buffer.from(encodeDiscoveryRequest({ typeUrl: TypeUrl.Cluster, resourceNames: [] })),
    );
    assert.match(await a.q.end(), /serves .*Secret, not .*Cluster/);
  });
});
