import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const logModule = fileURLToPath(new URL('./log.ts', import.meta.url));

interface Run {
  /** What the child wrote to stdout, and when (ms after it printed its first line). */
  readonly lines: string[];
  readonly firstLogAfterMs: number;
}

/** Runs `body` in a child process with `log`, a batched logger on stdout, and reads its output. */
function runChild(body: string): Promise<Run> {
  const script = `
    import { createLogger, batchedDestination } from ${JSON.stringify(logModule)};
    const log = createLogger('t', { level: 'info', destination: batchedDestination() });
    process.stderr.write('start\\n');
    ${body}
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let started = 0;
  let firstLogAfterMs = -1;
  child.stderr.on('data', () => {
    started ||= performance.now();
  });
  child.stdout.on('data', (d: Buffer) => {
    if (firstLogAfterMs < 0) firstLogAfterMs = performance.now() - started;
    out += d.toString();
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', () => {
      resolve({ lines: out.split('\n').filter((l) => l !== ''), firstLogAfterMs });
    });
  });
}

describe('batchedDestination', () => {
  it('writes a few lines within about 100 ms, without waiting for 4 KiB', async () => {
    const r = await runChild(`
      log.info({ n: 1 }, 'one');
      log.info({ n: 2 }, 'two');
      setTimeout(() => process.exit(0), 1500);
    `);
    assert.equal(r.lines.length, 2);
    assert.ok(r.firstLogAfterMs < 1000, `first line after ${String(r.firstLogAfterMs)} ms`);
    assert.equal((JSON.parse(r.lines[1] ?? '{}') as { msg?: string }).msg, 'two');
  });

  it('writes every line, in order, when the process exits at once', async () => {
    const r = await runChild(`
      for (let i = 0; i < 5000; i++) log.info({ i }, 'line');
      log.info('last');
      process.exit(0);
    `);
    assert.equal(r.lines.length, 5001);
    r.lines.slice(0, 5000).forEach((l, i) => {
      assert.equal((JSON.parse(l) as { i?: number }).i, i);
    });
    assert.match(r.lines[5000] ?? '', /"msg":"last"/);
  });
});
