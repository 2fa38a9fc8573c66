import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { status } from '@grpc/grpc-js';
import { createLogger } from '../lib/log.ts';
import { createRegistry, type Registry } from '../lib/metrics.ts';
import { createCsrPem } from '../lib/pki/csr.ts';
import { generateKeysSync } from '../lib/pki/keys.ts';
import { createAuthenticator } from './authn.ts';
import type { CertificateAuthority } from './authority.ts';
import { parseBootstrapTokens, tokenHash } from './bootstrap-tokens.ts';
import { createCaClient, type CaClient } from '../lib/ca/client.ts';
import { startCaGrpcServer, type CaGrpcServer } from './grpc-server.ts';
import { createCaMetrics } from './metrics.ts';
import { issueServingCert } from './serving-cert.ts';
import type { TokenReviewer } from './token-review.ts';
import { basicConstraintsExtension } from '../lib/pki/certificate-builder.ts';
import {
  csrFor,
  day,
  identity,
  opensslVerify,
  testAuthority,
  testRoot,
} from './testing/fixtures.ts';
import { grpcError } from '../lib/testing/grpc-errors.ts';

const vmToken = 'vm-token-0123456789abcdef';
const vmIdentity = identity('legacy', 'db');
const saIdentity = identity('default', 'app');
const silent = createLogger('ca-test', { level: 'silent' });

/** A fake of the small TokenReviewer interface; the real API server is used in e2e/cluster. */
const reviewer: TokenReviewer = {
  review(token) {
    return Promise.resolve(
      token === 'good-sa-token'
        ? { authenticated: true, namespace: 'default', serviceAccount: 'app' }
        : { authenticated: false, reason: 'token has expired' },
    );
  },
};

describe('CA gRPC server', () => {
  let authority: CertificateAuthority;
  let server: CaGrpcServer;
  let registry: Registry;
  let client: CaClient;
  let address: string;

  before(async () => {
    authority = testAuthority(await testRoot(), 30 * day);
    registry = createRegistry('ca_test', false);
    const tokens = parseBootstrapTokens(
      `tokens:\n  - node: vm-1\n    namespace: legacy\n    serviceAccount: db\n    sha256: ${tokenHash(vmToken)}\n`,
      'test',
    );
    server = await startCaGrpcServer(
      {
        authority,
        authenticate: createAuthenticator({
          trustDomain: 'cluster.local',
          tokenReviewer: reviewer,
          bootstrapTokens: () => tokens,
        }),
        metrics: createCaMetrics(registry),
        logger: silent,
        tls: issueServingCert(authority, ['localhost', '127.0.0.1'], day).tls,
      },
      0,
      '127.0.0.1',
    );
    address = `localhost:${server.port}`;
    client = createCaClient({ address, rootCertPem: authority.rootPem });
  });

  after(async () => {
    client.close();
    await server.close(1000);
  });

  it('issues over CreateCertificate for a ServiceAccount token; openssl verifies the chain', async () => {
    const { csr } = await csrFor({ uris: [saIdentity] });
    const chain = await client.createCertificate({ csr, token: 'good-sa-token' });
    assert.equal(chain.length, 2);
    assert.equal(chain.at(-1), authority.rootPem);
    assert.match(opensslVerify(chain, authority.rootPem, 'sslclient'), /OK/);
    assert.equal(new X509Certificate(chain[0]!).subjectAltName, `URI:${saIdentity}`);
  });

  it('issues over HandleCSR (0.2) for a bootstrap token', async () => {
    const { csr } = await csrFor({ uris: [vmIdentity] }, 'rsa-2048');
    const chain = await client.handleCsr({ csr, token: vmToken });
    assert.match(opensslVerify(chain, authority.rootPem), /OK/);
    assert.equal(new X509Certificate(chain[0]!).subjectAltName, `URI:${vmIdentity}`);
  });

  it('honours validity_duration', async () => {
    const { csr } = await csrFor({ uris: [vmIdentity] });
    const [leaf] = await client.createCertificate({ csr, token: vmToken, validitySeconds: 600 });
    const left = new X509Certificate(leaf!).validToDate.getTime() - Date.now();
    assert.ok(left > 590_000 && left <= 600_000, `lifetime ${left}`);
  });

  it('renews with a client certificate from this CA (mutual TLS), and only for its own identity', async () => {
    const keys = generateKeysSync('ecdsa-p256');
    const first = await client.createCertificate({
      csr: createCsrPem({ ...keys, sans: { uris: [vmIdentity] } }),
      token: vmToken,
    });
    const mtls = createCaClient({
      address,
      rootCertPem: authority.rootPem,
      clientCert: {
        keyPem: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        chainPem: first.slice(0, -1).join(''),
      },
    });
    try {
      const { csr } = await csrFor({ uris: [vmIdentity] });
      const renewed = await mtls.createCertificate({ csr });
      assert.match(opensslVerify(renewed, authority.rootPem), /OK/);
      const other = await csrFor({ uris: [saIdentity] });
      await assert.rejects(
        mtls.createCertificate({ csr: other.csr }),
        grpcError(
          status.PERMISSION_DENIED,
          /asks for identity .*sa\/app but the caller is .*sa\/db/,
        ),
      );
    } finally {
      mtls.close();
    }
  });

  it('does not accept a client certificate from a foreign root', async () => {
    const foreign = testAuthority(await testRoot());
    const keys = generateKeysSync('ecdsa-p256');
    const chain = foreign.signCsr(
      createCsrPem({ ...keys, sans: { uris: [vmIdentity] } }),
      vmIdentity,
    );
    const mtls = createCaClient({
      address,
      rootCertPem: authority.rootPem,
      clientCert: {
        keyPem: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        chainPem: chain.certPem,
      },
    });
    try {
      const { csr } = await csrFor({ uris: [vmIdentity] });
      await assert.rejects(
        mtls.createCertificate({ csr }),
        grpcError(status.UNAUTHENTICATED, /no credential/),
      );
    } finally {
      mtls.close();
    }
  });

  const refusals: {
    name: string;
    csr: () => Promise<string>;
    token?: string;
    ttl?: number;
    code: status;
    message: RegExp;
    /** The 0.2 API's message, when it differs. */
    legacyMessage?: RegExp;
    /** HandleCSR has no TTL field, so TTL cases apply to CreateCertificate only. */
    modernOnly?: boolean;
  }[] = [
    {
      name: 'no credential',
      csr: async () => (await csrFor({ uris: [saIdentity] })).csr,
      code: status.UNAUTHENTICATED,
      message: /no credential: present a client certificate/,
    },
    {
      name: 'a rejected ServiceAccount token',
      csr: async () => (await csrFor({ uris: [saIdentity] })).csr,
      token: 'expired-token',
      code: status.UNAUTHENTICATED,
      message: /ServiceAccount token rejected: token has expired/,
    },
    {
      name: 'bad PEM',
      csr: () => Promise.resolve('not a csr'),
      token: 'good-sa-token',
      code: status.INVALID_ARGUMENT,
      message: /invalid CSR: expected one PEM block/,
    },
    {
      name: 'an empty CSR',
      csr: () => Promise.resolve(''),
      token: 'good-sa-token',
      code: status.INVALID_ARGUMENT,
      message: /csr is empty/,
      legacyMessage: /csr_pem is empty/,
    },
    {
      name: 'a weak key',
      csr: () => Promise.resolve(rsa1024),
      token: 'good-sa-token',
      code: status.INVALID_ARGUMENT,
      message: /key RSA 1024 is not allowed/,
    },
    {
      name: 'CA:true',
      csr: async () =>
        (await csrFor({ uris: [saIdentity] }, 'ecdsa-p256', [basicConstraintsExtension(true)])).csr,
      token: 'good-sa-token',
      code: status.INVALID_ARGUMENT,
      message: /requests a CA certificate/,
    },
    {
      name: 'another SAN',
      csr: async () => (await csrFor({ uris: [saIdentity], dnsNames: ['www.example.com'] })).csr,
      token: 'good-sa-token',
      code: status.PERMISSION_DENIED,
      message: /DNS:www\.example\.com/,
    },
    {
      name: "someone else's identity",
      csr: async () => (await csrFor({ uris: [vmIdentity] })).csr,
      token: 'good-sa-token',
      code: status.PERMISSION_DENIED,
      message: /but the caller is spiffe:\/\/cluster\.local\/ns\/default\/sa\/app/,
    },
    {
      name: 'a validity above the maximum',
      csr: async () => (await csrFor({ uris: [saIdentity] })).csr,
      token: 'good-sa-token',
      ttl: 31 * 86400,
      modernOnly: true,
      code: status.INVALID_ARGUMENT,
      message: /exceeds the maximum 2592000s/,
    },
  ];

  let rsa1024 = '';
  before(async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    rsa1024 = createCsrPem({
      ...generateKeyPairSync('rsa', { modulusLength: 1024 }),
      sans: { uris: [saIdentity] },
    });
  });

  for (const r of refusals) {
    it(`refuses ${r.name} with ${status[r.code]}`, async () => {
      const csr = await r.csr();
      const call = {
        csr,
        ...(r.token ? { token: r.token } : {}),
        ...(r.ttl ? { validitySeconds: r.ttl } : {}),
      };
      await assert.rejects(client.createCertificate(call), grpcError(r.code, r.message));
      if (!r.modernOnly) {
        await assert.rejects(
          client.handleCsr(call),
          grpcError(r.code, r.legacyMessage ?? r.message),
        );
      }
    });
  }

  it('counts issuances and failures by reason, and times them', async () => {
    const text = await registry.metrics();
    assert.match(
      text,
      /citadel_server_success_cert_issuance_count\{api="CreateCertificate",auth="sa_token"\} [1-9]/,
    );
    assert.match(
      text,
      /citadel_server_success_cert_issuance_count\{api="HandleCSR",auth="bootstrap_token"\} [1-9]/,
    );
    assert.match(
      text,
      /citadel_server_success_cert_issuance_count\{api="CreateCertificate",auth="client_cert"\} 1\n/,
    );
    assert.match(
      text,
      /citadel_server_csr_failure_count\{api="CreateCertificate",reason="weak_key"\} 1\n/,
    );
    assert.match(
      text,
      /citadel_server_csr_failure_count\{api="HandleCSR",reason="unauthenticated"\} 2\n/,
    );
    assert.match(
      text,
      /citadel_server_csr_duration_seconds_count\{api="CreateCertificate"\} [1-9]/,
    );
  });

  it('serves a new certificate to new connections after updateTls', async () => {
    const peerSerial = () =>
      new Promise<string>((resolve, reject) => {
        const s = connect(
          {
            host: '127.0.0.1',
            port: server.port,
            servername: 'localhost',
            ca: authority.rootPem,
            ALPNProtocols: ['h2'],
          },
          () => {
            const serial = s.getPeerCertificate().serialNumber;
            s.end();
            resolve(serial);
          },
        );
        s.on('error', reject);
      });
    const before = await peerSerial();
    server.updateTls(issueServingCert(authority, ['localhost', '127.0.0.1'], day).tls);
    const after = await peerSerial();
    assert.notEqual(before, after);
  });
});
