/**
 * docs/mixer-build.md's recipe, checked on the layout the Dockerfile builds (no Docker engine
 * here): the recipe's Dockerfile and package.json are read from the page, the package is put where
 * its `npm install` in /app puts it, and the compiled `istio-lite mixer --adapterModules <package>`
 * runs from /app until its config (the example template's) is loaded and ready.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

export interface Recipe {
  readonly dockerfile: string;
  readonly packageJson: { name: string; exports: string };
  /** The package spec `npm install` is given (`name@version`). */
  readonly installs: string;
}

function block(markdown: string, lang: string): string {
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(markdown);
  assert.ok(m, `docs/mixer-build.md has a ${lang} block`);
  return m[1] ?? '';
}

export function readRecipe(root: string): Recipe {
  const doc = readFileSync(join(root, 'docs/mixer-build.md'), 'utf8');
  const dockerfile = block(doc, 'dockerfile');
  const packageJson = JSON.parse(block(doc, 'json')) as Recipe['packageJson'];
  const run = /^RUN npm install ([^\n]*?)(?: \\\n|$)/m.exec(dockerfile);
  assert.ok(run, 'the recipe runs npm install');
  const installs =
    (run[1] ?? '')
      .split(' ')
      .filter((a) => !a.startsWith('-'))
      .pop() ?? '';
  return { dockerfile, packageJson, installs };
}

/** The recipe builds on the istio-lite image as its Dockerfile lays it out. */
export function checkRecipeAgainstImage(r: Recipe, imageStage: string): void {
  assert.match(r.dockerfile, /^FROM istio-lite:\S+$/m);
  assert.doesNotMatch(r.dockerfile, /^WORKDIR /m, "npm install runs in the image's WORKDIR");
  assert.match(imageStage, /^WORKDIR \/app$/m);
  assert.match(imageStage, /^COPY package\.json package-lock\.json \.\/$/m, 'the lock is in /app');
  const user = /^USER (\S+)$/gm;
  const imageUser = [...imageStage.matchAll(user)].pop()?.[1];
  const recipeUser = [...r.dockerfile.matchAll(user)].pop()?.[1];
  assert.equal(recipeUser, imageUser, 'the recipe gives the image its user back');
  assert.match(r.dockerfile, /npm install[^\n]*--omit=dev/);
  assert.ok(r.installs.startsWith(`${r.packageJson.name}@`), r.installs);
}

/**
 * /app/node_modules as `npm install` leaves it: the image's packages (linked from the repository's
 * node_modules) plus the recipe's package, built from `moduleJs` as the page's package.json says.
 */
export function installPackage(
  repoNodeModules: string,
  target: string,
  r: Recipe,
  moduleJs: string,
): void {
  mkdirSync(target, { recursive: true });
  for (const entry of readdirSync(repoNodeModules)) {
    symlinkSync(join(repoNodeModules, entry), join(target, entry));
  }
  const pkg = join(target, r.packageJson.name);
  const main = join(pkg, r.packageJson.exports);
  mkdirSync(dirname(main), { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ ...r.packageJson, version: '1.0.0' }));
  cpSync(moduleJs, main);
}

interface LogLine {
  readonly msg?: string;
  readonly adapters?: string[];
  readonly templates?: string[];
  readonly problems?: number;
  readonly counts?: Record<string, number>;
}

/** Runs the compiled `istio-lite mixer` from `app` until ready; returns its log lines. */
export async function runCompiledMixer(app: string, args: readonly string[]): Promise<LogLine[]> {
  const child = spawn(process.execPath, [join(app, 'dist/cli/main.js'), 'mixer', ...args], {
    cwd: app,
    env: { PATH: process.env['PATH'], LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines: LogLine[] = [];
  const exited = once(child, 'exit');
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  try {
    for await (const line of createInterface({ input: child.stdout })) {
      const parsed = JSON.parse(line) as LogLine;
      lines.push(parsed);
      const seen = (msg: string) => lines.some((l) => l.msg === msg);
      if (seen('Mixer config loaded; ready') && seen('Mixer started')) break;
    }
    assert.ok(
      lines.some((l) => l.msg === 'Mixer config loaded; ready'),
      `Mixer never got ready: ${stderr}`,
    );
    // `istio-lite mixer` waits for SIGTERM once started; give it that turn, then stop it.
    await new Promise((resolve) => setTimeout(resolve, 200));
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0, stderr);
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  return lines;
}
