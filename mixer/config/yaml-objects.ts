/**
 * Config objects from YAML (files for `--configFile`, tests, the bench): Kubernetes-style
 * documents of `config.istio.io/v1alpha2`; a document without a namespace belongs to
 * `defaultNamespace` (as `kubectl apply` puts it in the current namespace).
 */
import { ErrorCode, IstioLiteError } from '../../lib/errors.ts';
import { isObject } from '../../lib/json.ts';
import { parseYamlDocuments } from '../../lib/yaml.ts';
import { ConfigGroup, ConfigVersion, type ConfigObject } from './objects.ts';

export function configObjectsFromYaml(
  text: string,
  source: string,
  defaultNamespace: string,
): ConfigObject[] {
  return parseYamlDocuments(text, source).map((doc) => {
    const where = `${source}: document ${String(doc.index)}`;
    const v = doc.value;
    if (!isObject(v)) throw new IstioLiteError(ErrorCode.InvalidInput, `${where}: not an object`);
    if (v['apiVersion'] !== `${ConfigGroup}/${ConfigVersion}`) {
      throw new IstioLiteError(
        ErrorCode.InvalidInput,
        `${where}: apiVersion must be ${ConfigGroup}/${ConfigVersion}`,
      );
    }
    const md = v['metadata'];
    const kind = v['kind'];
    const name = isObject(md) ? md['name'] : undefined;
    const ns = isObject(md) ? md['namespace'] : undefined;
    if (typeof kind !== 'string' || typeof name !== 'string' || name === '') {
      throw new IstioLiteError(
        ErrorCode.InvalidInput,
        `${where}: kind and metadata.name are required`,
      );
    }
    return {
      kind,
      name,
      namespace: typeof ns === 'string' && ns !== '' ? ns : defaultNamespace,
      spec: v['spec'] ?? {},
      source: `${source}#${String(doc.index)}`,
    };
  });
}
