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

import {
  checkRecipeAgainstImage,
  installPackage,
  readRecipe,
  runCompiledMixer,
} from './mixer-build-recipe.ts';

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

/** The last stage of a Dockerfile. */
function finalStage(dockerfile: string): string {
  const stages = readFileSync(join(root, dockerfile), 'utf8').split(/^FROM /m);
  return stages[stages.length - 1] ?? '';
}

/** The COPY instructions of a Dockerfile's last stage, one per source. */
function finalStageCopies(dockerfile: string): Copy[] {
  return [...finalStage(dockerfile).matchAll(/^COPY (?:--from=(\S+) )?(.+) (\S+)$/gm)].flatMap(
    (m) => (m[2] ?? '').split(' ').map((source) => ({ from: m[1], source, target: m[3] ?? '' })),
  );
}

/**
 * Lays out /app (and the files copied elsewhere, under `bin`) as the Dockerfile's last stage
 * copies them from the built context; `nodeModules` puts the deps stage's node_modules in place.
 */
function layOut(
  dockerfile: string,
  built: string,
  app: string,
  bin: string,
  nodeModules: (target: string) => void,
): void {
  mkdirSync(app, { recursive: true });
  mkdirSync(bin, { recursive: true });
  for (const c of finalStageCopies(dockerfile)) {
    if (c.from === 'node') continue; // the Node binary itself
    if (c.from === 'deps') {
      nodeModules(join(app, 'node_modules'));
      continue;
    }
    const source =
      c.from === 'build' ? join(built, relative('/src', c.source)) : join(built, c.source);
    const dest = c.target.startsWith('/') ? join(bin, c.target) : join(app, c.target);
    const target = c.target.endsWith('/') ? join(dest, basename(c.source)) : dest;
    mkdirSync(dirname(target), { recursive: true });
    cpSync(source, target, { recursive: true });
  }
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
      const copies = finalStageCopies(dockerfile);
      assert.ok(copies.some((c) => c.from === 'build' && c.target === './dist'));
      layOut(dockerfile, built, app, bin, (target) => {
        symlinkSync(join(root, 'node_modules'), target);
      });

      const modules = jsFiles(join(app, 'dist'));
      assert.ok(modules.length > 100, `compiled modules: ${modules.length}`);
      assert.ok(!modules.some((m) => m.endsWith('.test.js')));
      const script = `
        for (const m of ${JSON.stringify(modules)}) await import(m);
        const { caServices } = await import(${JSON.stringify(join(app, 'dist/lib/ca/protos.js'))});
        const { mixerService } = await import(${JSON.stringify(join(app, 'dist/lib/mixer/protos.js'))});
        const { envoyRoot } = await import(${JSON.stringify(join(app, 'dist/lib/xds/protos.js'))});
        caServices(); mixerService(); envoyRoot();
        const { readBundle } = await import(${JSON.stringify(join(app, 'dist/lib/xds/proto-bundle.js'))});
        const { envoyProtoFiles } = await import(${JSON.stringify(join(app, 'dist/lib/xds/protos.js'))});
        if (readBundle(envoyProtoFiles) === undefined) throw new Error('no Envoy proto bundle in /app');
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

  it('docs/mixer-build.md: a package npm installs in /app is what --adapterModules <name> loads', async () => {
    const recipe = readRecipe(root);
    checkRecipeAgainstImage(recipe, finalStage('Dockerfile'));
    const app = join(work, 'mixer-build', 'app');
    layOut('Dockerfile', built, app, join(work, 'mixer-build', 'bin'), (target) => {
      const example = join(built, 'dist/mixer/example-template/accessrequest.js');
      installPackage(join(root, 'node_modules'), target, recipe, example);
    });
    const config = join(root, 'mixer/example-template/accessrequest.yaml');
    const lines = await runCompiledMixer(app, [
      `--adapterModules=${recipe.packageJson.name}`,
      `--configStoreURL=fs://${config}`,
      '--host=127.0.0.1',
      '--port=0',
      '--monitoringPort=0',
    ]);
    const loaded = lines.find((l) => l.msg === 'user adapters and templates loaded');
    assert.deepEqual([loaded?.adapters, loaded?.templates], [['pathacl'], ['accessrequest']]);
    const snapshot = lines.findLast((l) => l.msg === 'config snapshot in use');
    assert.equal(snapshot?.problems, 0);
    assert.equal(snapshot.counts?.['accessrequest'], 1);
    assert.equal(snapshot.counts['rule'], 1);
  });
});

describe('the NODE_OPTIONS the images and the chart set', () => {
  // Node accepts only some V8 flags in NODE_OPTIONS and refuses to start with any other.
  const sources: [string, RegExp][] = [
    ['Dockerfile', /^ENV NODE_OPTIONS=(?:"([^"]*)"|(\S+))\s*$/gm],
    ['Dockerfile.proxy', /^ENV NODE_OPTIONS=(?:"([^"]*)"|(\S+))\s*$/gm],
    [
      'charts/istio-lite/templates/pilot.yaml',
      /- name: NODE_OPTIONS\s+value: (?:"([^"\n]*)"|(\S+))/gm,
    ],
  ];
  for (const [file, re] of sources) {
    it(`${file}: Node starts with them`, () => {
      const text = readFileSync(join(root, file), 'utf8');
      const found = [...text.matchAll(re)];
      if (file !== 'Dockerfile') assert.ok(found.length > 0, `no NODE_OPTIONS in ${file}`);
      for (const m of found) {
        const options = m[1] ?? m[2] ?? '';
        const out = execFileSync(process.execPath, ['-e', 'process.stdout.write("started")'], {
          env: { ...process.env, NODE_OPTIONS: options },
          encoding: 'utf8',
        });
        assert.equal(out, 'started', options);
      }
    });
  }
});
