/**
 * Envoy's protos as one JSON bundle (protobufjs' own JSON form of the parsed tree, options
 * included, so the validation rules read by envoy-rules.ts come along). Reading it is about 2.5x
 * faster than parsing the ~200 .proto files (lib/xds/protos.ts), which Pilot's start does before
 * its first config. The bundle is generated (`npm run protos:bundle`), committed,
 * shipped next to the code like the other .proto files, and used only when it was made from the
 * installed @grpc/grpc-js-xds version; otherwise the .proto files are parsed as before.
 * lib/xds/proto-bundle.test.ts fails when the committed bundle differs from what the .proto files
 * give.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { projectRoot } from '../package-info.ts';

export const bundlePath = join(projectRoot, 'lib/xds/envoy-protos.json');

/** The version of the package the .proto files come from. */
export function protoSourceVersion(): string {
  const require = createRequire(import.meta.url);
  const pkg: unknown = require('@grpc/grpc-js-xds/package.json');
  return typeof pkg === 'object' &&
    pkg !== null &&
    'version' in pkg &&
    typeof pkg.version === 'string'
    ? `@grpc/grpc-js-xds@${pkg.version}`
    : 'unknown';
}

interface Bundle {
  readonly source: string;
  readonly files: readonly string[];
  readonly root: protobuf.INamespace;
}

function isBundle(v: unknown): v is Bundle {
  return (
    typeof v === 'object' &&
    v !== null &&
    'source' in v &&
    typeof v.source === 'string' &&
    'files' in v &&
    Array.isArray(v.files) &&
    'root' in v &&
    typeof v.root === 'object' &&
    v.root !== null
  );
}

/** The bundle's tree, or undefined when there is none for these files and this version. */
export function readBundle(files: readonly string[], path = bundlePath): protobuf.Root | undefined {
  if (!existsSync(path)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
  if (!isBundle(parsed) || parsed.source !== protoSourceVersion()) return undefined;
  if (parsed.files.join('\n') !== files.join('\n')) return undefined;
  const root = protobuf.Root.fromJSON(parsed.root);
  restoreValuesOptions(root, parsed.root);
  root.resolveAll();
  return root;
}

/** Enum value options (`deprecated` and the like), which protobufjs' fromJSON leaves out. */
function restoreValuesOptions(ns: protobuf.NamespaceBase, json: protobuf.INamespace): void {
  for (const [name, child] of Object.entries(json.nested ?? {})) {
    const obj = ns.get(name);
    if (obj instanceof protobuf.Enum) {
      const options: unknown = 'valuesOptions' in child ? child.valuesOptions : undefined;
      if (typeof options === 'object' && options !== null)
        obj.valuesOptions = options as NonNullable<typeof obj.valuesOptions>;
    } else if (obj instanceof protobuf.Namespace || obj instanceof protobuf.Type) {
      restoreValuesOptions(obj, child);
    }
  }
}

/** The bundle's text for a parsed tree. */
export function bundleText(root: protobuf.Root, files: readonly string[]): string {
  const bundle: Bundle = {
    source: protoSourceVersion(),
    files,
    root: root.toJSON({ keepComments: false }),
  };
  return `${JSON.stringify(bundle)}\n`;
}

export function writeBundle(root: protobuf.Root, files: readonly string[], path = bundlePath) {
  writeFileSync(path, bundleText(root, files));
}
