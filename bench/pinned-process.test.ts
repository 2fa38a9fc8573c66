import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { firstLine, hasTaskset, idleClass, pinnedNode } from './pinned-process.ts';

const module = fileURLToPath(new URL('./pinned-process.ts', import.meta.url));

describe('bench processes', () => {
  it('pinThisProcess moves every thread of the runner to the core', function () {
    if (!hasTaskset) this.skip(); // taskset (util-linux) is what pins; without it nothing is.
    const script = `
      import { readdirSync, readFileSync } from 'node:fs';
      const { pinThisProcess } = await import(${JSON.stringify(module)});
      pinThisProcess(0);
      const lists = readdirSync('/proc/self/task').map((t) =>
        /Cpus_allowed_list:\\s*(\\S+)/.exec(readFileSync('/proc/self/task/' + t + '/status', 'utf8'))?.[1]);
      process.stdout.write(JSON.stringify(lists));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    const lists = JSON.parse(out) as string[];
    assert.ok(lists.length > 1, 'a Node process has more than one thread');
    assert.deepEqual([...new Set(lists)], ['0']);
  });

  it('idleClass starts a helper in SCHED_IDLE', async function () {
    if (idleClass === undefined) this.skip(); // chrt (util-linux) is what sets the class.
    const p = pinnedNode(0, ['-e', 'console.log("up"); setInterval(() => {}, 1000)'], {
      wrap: idleClass,
    });
    try {
      await firstLine(p);
      const policy = execFileSync('chrt', ['-p', String(p.pid)], { encoding: 'utf8' });
      assert.match(policy, /SCHED_IDLE/);
    } finally {
      p.kill();
    }
  });
});
