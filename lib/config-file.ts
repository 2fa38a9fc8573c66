/**
 * Reading a configuration file: YAML (or JSON) holding either the bare config or the whole
 * ConfigMap that carries it, as `istioctl --injectConfigFile/--meshConfigFile` accept.
 */
import { readFile } from 'node:fs/promises';
import { ErrorCode, IstioLiteError, errorMessage } from './errors.ts';
import { isObject, type JsonValue } from './json.ts';
import { parseYamlDocument } from './yaml.ts';

/** Parse config text; when it is a ConfigMap, return the YAML held under `data[key]`, parsed. */
export function parseConfigText(text: string, source: string, key: string): JsonValue {
  const value = parseYamlDocument(text, source);
  if (isObject(value) && value['kind'] === 'ConfigMap') {
    const data = value['data'];
    const inner = isObject(data) ? data[key] : undefined;
    if (typeof inner !== 'string') {
      throw new IstioLiteError(
        ErrorCode.InvalidConfig,
        `${source}: ConfigMap has no data.${key}: it must hold the config under that key`,
      );
    }
    return parseYamlDocument(inner, `${source} (data.${key})`);
  }
  return value;
}

export async function readConfigFile(path: string, key: string): Promise<JsonValue> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new IstioLiteError(ErrorCode.InvalidConfig, `cannot read ${path}: ${errorMessage(e)}`, {
      cause: e,
    });
  }
  return parseConfigText(text, path, key);
}
