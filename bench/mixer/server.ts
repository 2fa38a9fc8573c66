/**
 * The server side of bench/mixer, in its own process (pinned to one core by run.ts). `mixer`: the
 * real Mixer gRPC server and core with the REFERENCE deny, whitelist, quota and telemetry rules
 * (memquota, prometheus, stdio to /dev/null), logs at warn. `noop`: a bare grpc-js server whose
 * Mixer Check and Report handlers answer at once after decoding, the floor any gRPC service in
 * Node pays. Prints the port on stdout.
 */
import { createWriteStream } from 'node:fs';
import { Server, ServerCredentials, type sendUnaryData } from '@grpc/grpc-js';
import { createLogger } from '../../lib/log.ts';
import { createRegistry } from '../../lib/metrics.ts';
import { mixerService } from '../../lib/mixer/protos.ts';
import { AdapterRegistry } from '../../mixer/adapter-registry.ts';
import { ConfigController } from '../../mixer/config/controller.ts';
import { configObjectsFromYaml } from '../../mixer/config/yaml-objects.ts';
import { MixerCore } from '../../mixer/core.ts';
import { defaultCheckPolicy } from '../../mixer/dispatch/check.ts';
import { startMixerGrpcServer } from '../../mixer/grpc-server.ts';
import { createMixerMetrics } from '../../mixer/metrics.ts';
import { readFileSync } from 'node:fs';

const mode = process.argv[2];

if (mode === 'noop') {
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
  const logger = createLogger('mixer-bench', { level: 'warn' });
  const metrics = createRegistry('mixer');
  const devNull = createWriteStream('/dev/null');
  const controller = new ConfigController({
    registry: new AdapterRegistry(),
    logger,
    defaultNamespace: 'istio-system',
    envFor: (name) => ({ name, logger, metrics, now: Date.now, stdout: devNull, stderr: devNull }),
  });
  const objects = ['deny', 'whitelist', 'ratelimit', 'telemetry'].flatMap((f) => {
    const url = new URL(`../../mixer/examples/${f}.yaml`, import.meta.url);
    return configObjectsFromYaml(readFileSync(url, 'utf8'), f, 'default');
  });
  const snapshot = await controller.replaceAll(objects);
  if (snapshot.problems.length > 0) throw new Error(JSON.stringify(snapshot.problems));
  const core = new MixerCore({
    controller,
    policy: defaultCheckPolicy,
    metrics: createMixerMetrics(metrics),
    logger,
  });
  const grpc = await startMixerGrpcServer({ core, logger, port: 0, host: '127.0.0.1' });
  process.stdout.write(`${String(grpc.port)}\n`);
}
