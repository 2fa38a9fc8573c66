/**
 * Child process of XdsClientProcess: a proxyless gRPC client (@grpc/grpc-js-xds, bootstrap from
 * GRPC_XDS_BOOTSTRAP_CONFIG) calling XDS_TARGET every CALL_INTERVAL_MS, one JSON line per call
 * (start time, outcome, duration). CALL_HEADER (`name:value`) is sent as metadata on every
 * CALL_HEADER_EVERY-th call.
 */
import { Metadata } from '@grpc/grpc-js';
import { register } from '@grpc/grpc-js-xds';
import { echoClient } from './grpc-xds.ts';

register();
const client = echoClient(process.env['XDS_TARGET'] ?? '');
const interval = Number(process.env['CALL_INTERVAL_MS'] ?? '20');
const header = process.env['CALL_HEADER'] ?? '';
const every = Math.max(1, Number(process.env['CALL_HEADER_EVERY'] ?? '1'));
const colon = header.indexOf(':');
let n = 0;

function out(v: object): void {
  process.stdout.write(`${JSON.stringify(v)}\n`);
}

const timer = setInterval(() => {
  const t = Date.now();
  const md = new Metadata();
  const withHeader = colon > 0 && n++ % every === 0;
  if (withHeader) md.set(header.slice(0, colon), header.slice(colon + 1));
  client.Who({}, md, { deadline: new Date(t + 2000) }, (err, res) => {
    const common = { t, ms: Date.now() - t, header: withHeader };
    if (err) out({ ...common, ok: false, code: err.code, details: err.details });
    else out({ ...common, ok: true, backend: res?.backend });
  });
}, interval);

process.on('SIGTERM', () => {
  clearInterval(timer);
  client.close();
  process.exit(0);
});
