import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../package-info.ts';
import { bundlePath, readBundle } from './proto-bundle.ts';
import { envoyProtoFiles } from './protos.ts';

describe('lib/xds/proto-bundle: Envoy protos as committed JSON', function () {
  this.timeout(30_000);
  it('is what the installed .proto files give, and reads back into the same tree', () => {
    // In a fresh process: protobufjs' parser keeps global state that other tests' protos change.
    const out = execFileSync(
      process.execPath,
      [join(projectRoot, 'scripts/bundle-envoy-protos.ts'), '--check'],
      { encoding: 'utf8' },
    );
    assert.equal(out, 'bundle ok\n');
  });

  it('keeps the validation options envoy-rules.ts reads', () => {
    const bundled = readBundle(envoyProtoFiles);
    assert.ok(bundled);
    const port: unknown = bundled.lookupType('envoy.config.core.v3.SocketAddress').fields[
      'port_value'
    ]?.options?.['(validate.rules).uint32.lte'];
    assert.equal(port, 65535);
  });

  it('is not used for another source version, another file list, or a damaged file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'proto-bundle-'));
    try {
      const other = join(dir, 'b.json');
      const text = readFileSync(bundlePath, 'utf8');
      const bundle = JSON.parse(text) as { source: string };
      writeFileSync(other, JSON.stringify({ ...bundle, source: '@grpc/grpc-js-xds@0.0.1' }));
      assert.equal(readBundle(envoyProtoFiles, other), undefined);
      writeFileSync(other, text);
      assert.ok(readBundle(envoyProtoFiles, other));
      assert.equal(readBundle(envoyProtoFiles.slice(1), other), undefined);
      writeFileSync(other, text.slice(0, 1000));
      assert.equal(readBundle(envoyProtoFiles, other), undefined);
      assert.equal(readBundle(envoyProtoFiles, join(dir, 'missing.json')), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
