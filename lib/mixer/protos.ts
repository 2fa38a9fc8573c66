/**
 * The Mixer v1 gRPC service (`istio.mixer.v1.Mixer`: Check and Report), loaded once from the
 * project's own .proto files in lib/mixer/proto with field names as written there (`words`,
 * `string_maps`), int64 as JS numbers and enums as names. Mixer serves it; the agent calls it.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadServices } from '../grpc/services.ts';

export const MixerServiceName = 'istio.mixer.v1.Mixer';

function protoDir(): string {
  // Next to this module in the source tree; from dist/lib/mixer, the source tree's copy.
  for (const rel of ['./proto', '../../../lib/mixer/proto']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('lib/mixer/proto not found');
}

let service: ServiceDefinition | undefined;

export function mixerService(): ServiceDefinition {
  if (service) return service;
  const services = loadServices(protoDir(), ['istio/mixer/v1/service.proto'], [MixerServiceName]);
  const s = services.get(MixerServiceName);
  if (!s) throw new Error(`${MixerServiceName} missing`);
  service = s;
  return s;
}
