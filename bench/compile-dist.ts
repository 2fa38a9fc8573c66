/**
 * The images' build stage for benches that measure what the images run: compiles the sources into
 * dist/ (tsc -p tsconfig.build.json). A failed compile with an older dist/ present is used as it is
 * (the compiler's errors are on the terminal); with none it throws.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../lib/package-info.ts';

export const distEntry = join(projectRoot, 'dist', 'cli', 'main.js');

export function compileDist(log: (line: string) => void): void {
  log('compiling istio-lite (tsc -p tsconfig.build.json), as the images do');
  const tsc = spawnSync(
    process.execPath,
    [join(projectRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    { cwd: projectRoot, stdio: 'inherit' },
  );
  if (tsc.status !== 0 && !existsSync(distEntry)) {
    throw new Error(`tsc -p tsconfig.build.json failed (${String(tsc.status)})`);
  }
}
