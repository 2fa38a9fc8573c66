/**
 * The floor of bench/agent's capacity section (../h2-floor.ts) on a Unix socket, answering every
 * ext_authz Check with an encoded OK. Prints `ready` once bound.
 *
 *   floor-authz.ts SOCKET_PATH
 */
import { encodeAuthzResponse } from '../../agent/mixer/envoy-wire.ts';
import { floorServer } from '../h2-floor.ts';

const [path = ''] = process.argv.slice(2);
const server = floorServer(encodeAuthzResponse({ code: 0, message: '' }, true));
server.listen(path, () => {
  process.stdout.write('ready\n');
});
process.on('SIGTERM', () => {
  server.close();
  process.exit(0);
});
