/**
 * Fails when the project's TypeScript imports form a cycle (relative imports, type-only ones
 * included). A small stand-in for eslint-plugin-import-x's no-cycle, whose native resolver has
 * platform packages the lockfile cannot list from this project's registry mirror.
 *
 *   node scripts/check-import-cycles.ts
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const folders = [
  'lib',
  'webhook',
  'pilot',
  'mixer',
  'ca',
  'agent',
  'vm',
  'cli',
  'e2e',
  'bench',
  'scripts',
];

function files(dir: string): string[] {
  let out: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out = out.concat(files(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

const importRe = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"](\.[^'"]+)['"]/g;
const dynamicRe = /import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

const graph = new Map<string, string[]>();
for (const f of folders.flatMap((d) => files(join(root, d)))) {
  const text = readFileSync(f, 'utf8');
  const deps: string[] = [];
  for (const re of [importRe, dynamicRe]) {
    for (const m of text.matchAll(re)) {
      const spec = m[1];
      if (spec !== undefined && spec.endsWith('.ts')) deps.push(resolve(dirname(f), spec));
    }
  }
  graph.set(f, deps);
}

const state = new Map<string, 'visiting' | 'done'>();
const cycles: string[][] = [];
function visit(node: string, stack: string[]): void {
  const s = state.get(node);
  if (s === 'done') return;
  if (s === 'visiting') {
    cycles.push([...stack.slice(stack.indexOf(node)), node]);
    return;
  }
  state.set(node, 'visiting');
  for (const d of graph.get(node) ?? []) visit(d, [...stack, node]);
  state.set(node, 'done');
}
for (const node of graph.keys()) visit(node, []);

if (cycles.length > 0) {
  for (const c of cycles)
    console.error(`import cycle: ${c.map((p) => relative(root, p)).join(' -> ')}`);
  process.exit(1);
}
console.log(`no import cycles in ${graph.size} files`);
