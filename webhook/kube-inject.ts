/**
 * `kube-inject` on text: multi-document YAML in, multi-document YAML out, documents and their order
 * kept. Every pod template in every document goes through the same engine as the webhook. An error
 * names the document and its line, and no output is produced.
 */
import { ErrorCode, IstioLiteError, errorMessage } from '../lib/errors.ts';
import { parseYamlDocuments, toYamlDocuments } from '../lib/yaml.ts';
import { injectObject, type InjectContext, type TemplateResult } from './engine.ts';

export interface DocumentReport {
  readonly index: number;
  readonly pods: readonly TemplateResult[];
}

export interface KubeInjectResult {
  readonly output: string;
  readonly documents: readonly DocumentReport[];
}

export function kubeInjectText(
  text: string,
  ctx: InjectContext,
  source = 'input',
): KubeInjectResult {
  const docs = parseYamlDocuments(text, source);
  const out: unknown[] = [];
  const documents: DocumentReport[] = [];
  for (const doc of docs) {
    try {
      const r = injectObject(doc.value, ctx);
      out.push(r.object);
      documents.push({ index: doc.index, pods: r.pods });
    } catch (e) {
      throw new IstioLiteError(
        ErrorCode.InvalidObject,
        `${source}: document ${doc.index} (line ${doc.line}): ${errorMessage(e)}`,
        { cause: e },
      );
    }
  }
  return { output: toYamlDocuments(out), documents };
}
