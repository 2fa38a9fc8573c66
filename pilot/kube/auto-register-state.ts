/**
 * The annotations auto-registration keeps on a WorkloadEntry (modern Istio's names) and what they
 * say, read from a raw object as the API server returned it.
 */
export const AutoRegisterAnnotation = {
  group: 'istio.io/autoRegistrationGroup',
  controller: 'istio.io/workloadController',
  connectedAt: 'istio.io/connectedAt',
  disconnectedAt: 'istio.io/disconnectedAt',
} as const;

export interface EntryMeta {
  readonly namespace: string;
  readonly name: string;
  readonly resourceVersion: string;
  /** The WorkloadGroup it was made from; undefined for an entry not auto-registered. */
  readonly group: string | undefined;
  readonly controller: string | undefined;
  /** When its proxy disconnected (ms since epoch); undefined while connected. */
  readonly disconnectedAt: number | undefined;
}

function str(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  return typeof v === 'string' ? v : undefined;
}

function obj(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {};
}

/** The entry's identity and annotations; undefined when the object has no name. */
export function entryState(raw: unknown): EntryMeta | undefined {
  const meta = obj(obj(raw)['metadata']);
  const name = str(meta, 'name');
  if (name === undefined) return undefined;
  const ann = obj(meta['annotations']);
  const at = str(ann, AutoRegisterAnnotation.disconnectedAt);
  const parsed = at === undefined ? NaN : Date.parse(at);
  return {
    namespace: str(meta, 'namespace') ?? '',
    name,
    resourceVersion: str(meta, 'resourceVersion') ?? '',
    group: str(ann, AutoRegisterAnnotation.group),
    controller: str(ann, AutoRegisterAnnotation.controller),
    // An unreadable time counts as long ago: the entry is stale.
    disconnectedAt: at === undefined ? undefined : Number.isNaN(parsed) ? 0 : parsed,
  };
}
