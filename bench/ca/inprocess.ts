/**
 * In-process issuance rate, one thread: the CA's whole CSR path (parse, verify the request's
 * signature, policy, build and sign the leaf, PEM) for pre-made CSRs, and the same path on
 * @peculiar/x509's ASN.1 codec for comparison (library-ca.ts). Prints one JSON line per case. Run
 * by run.ts pinned to one core.
 */
import { parseArgs } from 'node:util';
import { createCsrPem } from '../../lib/pki/csr.ts';
import { generateKeysSync, type KeyAlgorithm } from '../../lib/pki/keys.ts';
import { testAuthority, testRoot } from '../../ca/testing/fixtures.ts';
import { forgeCa } from './forge-signer.ts';
import { libraryIssue } from './library-ca.ts';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' } } });
const seconds = Number(values.seconds);
const id = 'spiffe://cluster.local/ns/bench/sa/app';

function csrs(alg: KeyAlgorithm, n: number): string[] {
  return Array.from({ length: n }, () =>
    createCsrPem({ ...generateKeysSync(alg), sans: { uris: [id] } }),
  );
}

function rate(
  name: string,
  pool: readonly string[],
  issue: (csr: string) => unknown,
  ms: number,
): void {
  for (let i = 0; i < 20; i++) issue(pool[i % pool.length] ?? '');
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    issue(pool[n % pool.length] ?? '');
    n++;
  }
  const s = (performance.now() - t0) / 1000;
  process.stdout.write(`${JSON.stringify({ name, perSecond: n / s, n })}\n`);
}

const ecCsrs = csrs('ecdsa-p256', 64);
const rsaCsrs = csrs('rsa-2048', 16);

const ecCa = testAuthority(await testRoot('ecdsa-p256'));
rate('in-process ECDSA P-256 (node:crypto)', ecCsrs, (c) => ecCa.signCsr(c, id), seconds * 1000);
rate(
  'in-process ECDSA P-256 (@peculiar/x509 codec)',
  ecCsrs,
  (c) => libraryIssue(ecCa.current, c, id),
  seconds * 1000,
);
const rsaCa = testAuthority(await testRoot('rsa-2048'));
rate('in-process RSA 2048 (node:crypto)', rsaCsrs, (c) => rsaCa.signCsr(c, id), seconds * 1000);
const forge = forgeCa();
rate(
  'in-process RSA 2048 (node-forge, pure JS)',
  rsaCsrs,
  (c) => forge.issue(c, id),
  seconds * 1000,
);
