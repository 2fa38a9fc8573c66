/**
 * Child process of XdsClientProcess: a proxyless gRPC client (@grpc/grpc-js-xds, bootstrap from
 * GRPC_XDS_BOOTSTRAP_CONFIG) calling XDS_TARGET every CALL_INTERVAL_MS, one JSON line per call.
 */
import { register } from '@grpc/grpc-js-xds';
import { echoClient } from './grpc-xds.ts';

register();
const client = echoClient(process.env['XDS_TARGET'] ?? '');
const interval = Number(process.env['CALL_INTERVAL_MS'] ?? '20');

function out(v: object): void {
  process.stdout.write(`${JSON.stringify({ t: Date.now(), ...v })}\n`);
}

const timer = setInterval(() => {
  client.Who({}, { deadline: new Date(Date.now() + 2000) }, (err, res) => {
    if (err) out({ ok: false, code: err.code, details: err.details });
    else out({ ok: true, backend: res?.backend });
  });
}, interval);

process.on('SIGTERM', () => {
  clearInterval(timer);
  client.close();
  process.exit(0);
});
