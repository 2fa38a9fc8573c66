/**
 * Test workload certificates made by the real `openssl` command: a mesh root and leaves with a
 * SPIFFE URI SAN, written the way the `istio.<sa>` Secret is mounted. For tests only.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestRoot {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface TestLeaf {
  readonly chainPem: string;
  readonly keyPem: string;
  readonly rootPem: string;
}

function inTemp<T>(fn: (dir: string, run: (args: string[]) => void) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'agent-certs-'));
  const run = (args: string[]) => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  try {
    return fn(dir, run);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export function testRoot(cn = 'istio-lite-test-root'): TestRoot {
  return inTemp((dir, run) => {
    run([
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '2',
      '-subj',
      `/CN=${cn}`,
    ]);
    return {
      certPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
      keyPem: readFileSync(join(dir, 'ca.key'), 'utf8'),
    };
  });
}

/** A leaf for `spiffe://cluster.local/ns/<ns>/sa/<sa>` signed by `root`. */
export function testLeaf(root: TestRoot, ns = 'shop', sa = 'reviews', days = 1): TestLeaf {
  return inTemp((dir, run) => {
    writeFileSync(join(dir, 'ca.crt'), root.certPem);
    writeFileSync(join(dir, 'ca.key'), root.keyPem);
    run(['req', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/O=istio-lite']);
    writeFileSync(
      join(dir, 'ext.cnf'),
      `subjectAltName=URI:spiffe://cluster.local/ns/${ns}/sa/${sa}\nextendedKeyUsage=serverAuth,clientAuth\n`,
    );
    run([
      'x509',
      '-req',
      '-in',
      'leaf.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'leaf.crt',
      '-days',
      String(days),
      '-extfile',
      'ext.cnf',
    ]);
    return {
      chainPem: readFileSync(join(dir, 'leaf.crt'), 'utf8'),
      keyPem: readFileSync(join(dir, 'leaf.key'), 'utf8'),
      rootPem: root.certPem,
    };
  });
}

/**
 * Writes the three files as a Secret volume does: into a fresh `..<n>` folder, then swaps the
 * `..data`-style names at once (here: each file renamed into place, chain last).
 */
export function writeCertFiles(dir: string, leaf: TestLeaf): void {
  const files: [string, string][] = [
    ['root-cert.pem', leaf.rootPem],
    ['key.pem', leaf.keyPem],
    ['cert-chain.pem', leaf.chainPem],
  ];
  for (const [name, body] of files) {
    const tmp = join(dir, `.${name}.tmp`);
    writeFileSync(tmp, body);
    renameSync(tmp, join(dir, name));
  }
}
