/**
 * The cache names of the binaries built from this repository's own sources (the Eureka server,
 * the grpc-go client) carry a hash of those sources, computed here exactly as
 * scripts/build-binaries.sh computes it, so a change to them gives a new name and a new build.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { projectRoot } from '../package-info.ts';

/** The Eureka server's sources: a change there gives the jar another cache name. */
export const eurekaSourceDir = join(projectRoot, 'e2e', 'eureka-server');

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(p));
    else if (entry.isFile()) out.push(p);
  }
  return out;
}

/**
 * The first 8 hex digits of the SHA-256 over pom.xml and every file under src/, in byte order of
 * their relative paths, each as `path\n` then its bytes: what scripts/build-binaries.sh's
 * eureka_hash computes. Undefined when the sources are not here (an installed package).
 */
export function eurekaSourceHash(dir: string = eurekaSourceDir): string | undefined {
  if (!existsSync(join(dir, 'pom.xml'))) return undefined;
  const src = join(dir, 'src');
  const rel = ['pom.xml', ...(existsSync(src) ? filesUnder(src) : []).map((f) => relative(dir, f))];
  rel.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const h = createHash('sha256');
  for (const f of rel) {
    h.update(`${f}\n`);
    h.update(readFileSync(join(dir, f)));
  }
  return h.digest('hex').slice(0, 8);
}

/** The grpc-go client's sources (go.mod, go.sum, main.go). */
export const grpcGoClientSourceDir = join(projectRoot, 'e2e', 'grpc-go-client');

/**
 * The first 8 hex digits of the SHA-256 over every file directly in `dir`, in byte order of their
 * names, each as `name\n` then its bytes: scripts/build-binaries.sh's grpc_go_hash. Undefined
 * when the sources are not here.
 */
export function grpcGoClientSourceHash(dir: string = grpcGoClientSourceDir): string | undefined {
  if (!existsSync(join(dir, 'go.mod'))) return undefined;
  const names = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name)
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const h = createHash('sha256');
  for (const f of names) {
    h.update(`${f}\n`);
    h.update(readFileSync(join(dir, f)));
  }
  return h.digest('hex').slice(0, 8);
}
