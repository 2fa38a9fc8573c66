/**
 * The images cannot be built here (no Docker engine). What they run can be: this test lays out the
 * build context as .dockerignore filters it, compiles it as the build stage does, assembles /app as
 * the final stage of each Dockerfile copies it, and runs the result: every compiled module imports,
 * the .proto files the services load are found, and the command wrapper runs the compiled CLI.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, matchesGlob, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The files a `docker build` context holds: Docker's rule, the last matching pattern wins. */
function contextFiles(): string[] {
  const patterns = readFileSync(join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => (l.startsWith('!') ? { keep: true, glob: l.slice(1) } : { keep: false, glob: l }));
  const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\n')
    .filter(Boolean);
  return tracked.filter((f) => {
    let kept = true;
    for (const p of patterns) if (matchesGlob(f, p.glob)) kept = p.keep;
    return kept;
  });
}

interface Copy {
  readonly from: string | undefined;
  readonly source: string;
  readonly target: string;
}

/** The COPY instructions of a Dockerfile's last stage. */
function finalStageCopies(dockerfile: string): Copy[] {
  const text = readFileSync(join(root, dockerfile), 'utf8');
  const stages = text.split(/^FROM /m);
  const last = stages[stages.length - 1] ?? '';
  return [...last.matchAll(/^COPY (?:--from=(\S+) )?(\S+) (\S+)$/gm)].map((m) => ({
    from: m[1],
    source: m[2] ?? '',
    target: m[3] ?? '',
  }));
}

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.js'))
    .map((f) => join(dir, f));
}

describe('the images run compiled JavaScript from their build context', function () {
  this.timeout(180_000);
  let work = '';
  let built = '';

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'image-layout-'));
    const context = join(work, 'context');
    for (const f of contextFiles()) {
      mkdirSync(dirname(join(context, f)), { recursive: true });
      cpSync(join(root, f), join(context, f));
    }
    // The build stage: `npm ci` (linked here), then tsc on exactly the context's sources.
    symlinkSync(join(root, 'node_modules'), join(context, 'node_modules'));
    execFileSync(
      process.execPath,
      [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
      { cwd: context, encoding: 'utf8' },
    );
    built = context;
  });

  after(() => {
    rmSync(work, { recursive: true, force: true });
  });

  for (const dockerfile of ['Dockerfile', 'Dockerfile.proxy']) {
    it(`${dockerfile}: /app imports every module, finds its protos, runs the CLI`, () => {
      const app = join(work, dockerfile, 'app');
      const bin = join(work, dockerfile, 'bin');
      mkdirSync(app, { recursive: true });
      mkdirSync(bin, { recursive: true });
      const copies = finalStageCopies(dockerfile);
      assert.ok(copies.some((c) => c.from === 'build' && c.target === './dist'));
      for (const c of copies) {
        if (c.from === 'node') continue; // the Node binary itself
        if (c.from === 'deps') {
          symlinkSync(join(root, 'node_modules'), join(app, 'node_modules'));
          continue;
        }
        const source =
          c.from === 'build' ? join(built, relative('/src', c.source)) : join(built, c.source);
        const dest = c.target.startsWith('/') ? join(bin, c.target) : join(app, c.target);
        const target = c.target.endsWith('/') ? join(dest, basename(c.source)) : dest;
        mkdirSync(dirname(target), { recursive: true });
        cpSync(source, target, { recursive: true });
      }

      const modules = jsFiles(join(app, 'dist'));
      assert.ok(modules.length > 100, `compiled modules: ${modules.length}`);
      assert.ok(!modules.some((m) => m.endsWith('.test.js')));
      const script = `
        for (const m of ${JSON.stringify(modules)}) await import(m);
        const { caServices } = await import(${JSON.stringify(join(app, 'dist/lib/ca/protos.js'))});
        const { mixerService } = await import(${JSON.stringify(join(app, 'dist/lib/mixer/protos.js'))});
        const { envoyRoot } = await import(${JSON.stringify(join(app, 'dist/lib/xds/protos.js'))});
        caServices(); mixerService(); envoyRoot();
        process.stdout.write('loaded');
      `;
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: app,
        encoding: 'utf8',
      });
      assert.equal(out, 'loaded');

      // The wrapper runs /app/dist/cli/main.js; run it from where this layout put /app.
      const wrapper = readFileSync(join(bin, 'usr/local/bin/istio-lite'), 'utf8');
      assert.match(wrapper, /^exec node \/app\/dist\/cli\/main\.js "\$@"$/m);
      const version = execFileSync(process.execPath, [join(app, 'dist/cli/main.js'), 'version'], {
        encoding: 'utf8',
      });
      assert.match(version, /0\.1\.0/);
    });
  }
});
