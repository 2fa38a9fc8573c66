/**
 * The server side of bench/mixer, in its own process (pinned to one core by run.ts). `mixer`: the
 * real Mixer gRPC server and core with the mixer/examples deny, whitelist, quota and telemetry
 * rules (workload.ts). `noop`: a bare grpc-js server whose Mixer Check and Report handlers answer at
 * once after decoding (protobufjs, as grpc-js services do), the floor any gRPC service in Node
 * pays. `floor`: our HTTP/2 transport (lib/h2) answering every call with the same framed OK and
 * trailers, no gRPC checks at all: what lib/grpc/h2-server.ts can at most reach. Prints the port on stdout.
 */
import { Server, ServerCredentials, type sendUnaryData } from '@grpc/grpc-js';
import { floorServer } from '../h2-floor.ts';
import { mixerService } from '../../lib/mixer/protos.ts';
import { startMixerGrpcServer } from '../../mixer/grpc-server.ts';
import { createLogger } from '../../lib/log.ts';
import { benchCore } from './workload.ts';

const mode = process.argv[2];

if (mode === 'floor') {
  const def = mixerService()['Check'];
  if (!def) throw new Error('no Check');
  const server = floorServer(
    def.responseSerialize({ precondition: { status: { code: 0, message: '' } }, quotas: {} }),
  );
  server.listen(0, '127.0.0.1', () => {
    const a = server.address();
    process.stdout.write(`${String(typeof a === 'object' && a !== null ? a.port : 0)}\n`);
  });
} else if (mode === 'noop') {
  const server = new Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
  server.addService(mixerService(), {
    Check(_call: unknown, cb: sendUnaryData<unknown>) {
      cb(null, { precondition: { status: { code: 0, message: '' } }, quotas: {} });
    },
    Report(_call: unknown, cb: sendUnaryData<unknown>) {
      cb(null, {});
    },
  });
  server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, port) => {
    if (err) throw err;
    process.stdout.write(`${String(port)}\n`);
  });
} else {
  const { core } = await benchCore();
  const logger = createLogger('mixer-bench', { level: 'warn' });
  const grpc = await startMixerGrpcServer({ core, logger, port: 0, host: '127.0.0.1' });
  process.stdout.write(`${String(grpc.port)}\n`);
}

// Exit on SIGTERM through process.exit, so `node --cpu-prof` writes its profile.
process.once('SIGTERM', () => {
  process.exit(0);
});
