/**
 * Writes lib/xds/envoy-protos.json from Envoy's .proto files (`npm run protos:bundle`): run it after
 * updating @grpc/grpc-js-xds or changing the list in lib/xds/protos.ts, and commit the result.
 * `--check` writes nothing: exit 1 when the committed bundle is not what the .proto files give or
 * does not read back into the same tree (run in a fresh process: protobufjs' parser keeps global
 * state that other loaded protos change).
 */
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { bundlePath, bundleText, readBundle, writeBundle } from '../lib/xds/proto-bundle.ts';
import { envoyProtoFiles, parseEnvoyProtos } from '../lib/xds/protos.ts';

const parsed = parseEnvoyProtos();
if (process.argv.includes('--check')) {
  if (readFileSync(bundlePath, 'utf8') !== bundleText(parsed, envoyProtoFiles)) {
    process.stderr.write(`${bundlePath} is stale: run npm run protos:bundle and commit it\n`);
    process.exit(1);
  }
  if (!isDeepStrictEqual(readBundle(envoyProtoFiles)?.toJSON(), parsed.toJSON())) {
    process.stderr.write(`${bundlePath} does not read back into the tree it was made from\n`);
    process.exit(1);
  }
  process.stdout.write('bundle ok\n');
} else {
  writeBundle(parsed, envoyProtoFiles);
  process.stdout.write(`wrote ${bundlePath}\n`);
}
