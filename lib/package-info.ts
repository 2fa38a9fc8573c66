/**
 * The project's root folder and version, found by walking up from this file to the package.json
 * named istio-lite, so it works from the sources (`node cli/main.ts`) and from `dist/`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      const v: unknown = JSON.parse(readFileSync(pkg, 'utf8'));
      if (typeof v === 'object' && v !== null && 'name' in v && v.name === 'istio-lite') return dir;
    }
    const up = dirname(dir);
    if (up === dir)
      throw new Error('cannot find the istio-lite package.json above ' + import.meta.url);
    dir = up;
  }
}

export const projectRoot = findRoot();

export const projectVersion: string = (() => {
  const v: unknown = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8'));
  return typeof v === 'object' && v !== null && 'version' in v && typeof v.version === 'string'
    ? v.version
    : 'unknown';
})();
