/**
 * Pilot for the bench, alone in its process (so its RSS is Pilot's): serves the bench mesh from a
 * MemoryRegistry, prints `{"ready":true,"xdsPort":N}`, then answers commands on stdin, one JSON
 * per line: `{"cmd":"move","service":I,"version":V}` moves one endpoint and answers with the time
 * of the change; `{"cmd":"rss"}` answers with the RSS in bytes.
 */
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { defaultMeshConfig } from '../../lib/mesh-config.ts';
import { runPilot } from '../../pilot/run.ts';
import { benchEndpoints, benchRegistry, benchService } from './mesh.ts';

const mesh = {
  services: Number(process.env['SERVICES']),
  endpoints: Number(process.env['ENDPOINTS']),
};
const registry = benchRegistry(mesh);
const pilot = await runPilot({
  logger: pino({ level: 'warn' }),
  mesh: { ...defaultMeshConfig, authPolicy: 'PERMISSIVE' },
  registry,
  xdsHost: '127.0.0.1',
  xdsPort: 0,
  httpHost: '127.0.0.1',
  httpPort: 0,
  debounceMs: 100,
  debounceMaxMs: 1000,
  domain: 'cluster.local',
});

function reply(v: object): void {
  process.stdout.write(`${JSON.stringify(v)}\n`);
}

reply({ ready: true, xdsPort: pilot.xdsPort, httpPort: pilot.httpPort });

createInterface({ input: process.stdin }).on('line', (line) => {
  const m = JSON.parse(line) as { cmd: string; service?: number; version?: number };
  if (m.cmd === 'move' && m.service !== undefined && m.version !== undefined) {
    const at = Date.now();
    registry.setEndpoints(
      benchService(m.service).hostname,
      benchEndpoints(m.service, mesh, m.version),
    );
    reply({ moved: at });
  } else if (m.cmd === 'rss') {
    global.gc?.();
    const m = process.memoryUsage();
    reply({
      rss: m.rss,
      heap: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
    });
  } else if (m.cmd === 'exit') {
    void pilot.close().then(() => process.exit(0));
  }
});
