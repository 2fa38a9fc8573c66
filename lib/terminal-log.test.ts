import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTerminalLogger, readableLine } from './terminal-log.ts';

describe('terminal logs (npm start)', () => {
  const cases: { name: string; line: string; want: string | undefined }[] = [
    {
      name: 'info stays in the file',
      line: '{"level":30,"msg":"synced"}',
      want: undefined,
    },
    {
      name: 'a warning with its subject and error',
      line: '{"level":40,"component":"start","informer":"pods","path":"/api/v1/pods","err":"HTTP 500: etcd\\nmore","msg":"watch failed; restarting"}',
      want: 'warning: watch failed; restarting (pods): HTTP 500: etcd',
    },
    {
      name: 'an error object',
      line: '{"level":50,"msg":"cannot apply rule","err":{"message":"spec.match: bad"}}',
      want: 'error: cannot apply rule: spec.match: bad',
    },
    { name: 'not JSON is shown as it is', line: 'plain text\n', want: 'plain text' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(readableLine(c.line)?.text, c.want);
    });
  }

  it('writes JSON lines to the file and shows each warning once, readably', () => {
    const dir = mkdtempSync(join(tmpdir(), 'terminal-log-'));
    try {
      const shown: string[] = [];
      const file = join(dir, 'logs', 'istio-lite.log');
      const log = createTerminalLogger('start', {
        file,
        show: (l) => shown.push(l),
        level: 'info',
      });
      log.info('pilot ready');
      for (let i = 0; i < 3; i++) log.child({ informer: 'services' }).warn('watch failed');
      log.child({ informer: 'pods' }).warn('watch failed');
      assert.deepEqual(shown, ['warning: watch failed (services)', 'warning: watch failed (pods)']);
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      assert.equal(lines.length, 5);
      for (const l of lines)
        assert.equal((JSON.parse(l) as { component: string }).component, 'start');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
