/**
 * A CA gRPC server over TLS on loopback for the benchmark (bootstrap-token auth, no Kubernetes).
 * Prints {"port":N,"root":"PEM"} and serves until killed. Run by run.ts pinned to one core.
 */
import { parseArgs } from 'node:util';
import { isKeyAlgorithm } from '../../lib/pki/keys.ts';
import { testAuthority, testRoot } from '../../ca/testing/fixtures.ts';
import { startTestCaServer } from '../../ca/testing/test-server.ts';

const { values } = parseArgs({ options: { alg: { type: 'string', default: 'ecdsa-p256' } } });
const alg = values.alg;
if (!isKeyAlgorithm(alg)) throw new Error(`--alg ${alg}`);
const authority = testAuthority(await testRoot(alg));
const { server } = await startTestCaServer({
  authority,
  tokens: [{ token: 'bench-token', namespace: 'bench', serviceAccount: 'app' }],
});
process.stdout.write(`${JSON.stringify({ port: server.port, root: authority.rootPem })}\n`);
process.on('SIGTERM', () => {
  void server.close(100).then(() => process.exit(0));
});
