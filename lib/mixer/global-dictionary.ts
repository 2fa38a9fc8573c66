/**
 * The global dictionary: words both sides know, so a compressed attribute set names them by index
 * instead of spelling them. istio-lite's own list (not Istio's), versioned: words are only ever
 * appended, so a client whose `global_word_count` is at most the server's uses a prefix of the
 * server's list (as Istio's Mixer allowed: an older sidecar keeps working with a newer Mixer).
 *
 * The list is spelled out (not derived from the vocabulary) so that no edit elsewhere can renumber
 * it; a test pins its hash per version.
 *
 * Word 0 is an attribute name, never a string map key, so `map_key: 0` in referenced attributes
 * can mean "the whole map" without ambiguity.
 */
/** Bumped with every append; logged by both sides and named in mismatch errors. */
/** Words per version: `istio-lite/1` had 120; `/2` appended `origin.ip` and `context.reporter.uid`. */
export const globalDictionaryVersion = 'istio-lite/2';

const attributeNames = [
  'source.ip',
  'source.port',
  'source.name',
  'source.uid',
  'source.namespace',
  'source.labels',
  'source.user',
  'source.service',
  'source.serviceAccount',
  'source.principal',
  'destination.ip',
  'destination.port',
  'destination.name',
  'destination.uid',
  'destination.namespace',
  'destination.labels',
  'destination.user',
  'destination.service',
  'destination.serviceAccount',
  'destination.principal',
  'request.headers',
  'request.id',
  'request.path',
  'request.host',
  'request.method',
  'request.reason',
  'request.referer',
  'request.scheme',
  'request.size',
  'request.total_size',
  'request.time',
  'request.useragent',
  'response.headers',
  'response.size',
  'response.total_size',
  'response.time',
  'response.duration',
  'response.code',
  'connection.id',
  'connection.event',
  'connection.received.bytes',
  'connection.received.bytes_total',
  'connection.sent.bytes',
  'connection.sent.bytes_total',
  'connection.duration',
  'connection.mtls',
  'connection.requested_server_name',
  'context.protocol',
  'context.time',
  'context.reporter.kind',
  'check.error_code',
  'check.error_message',
  'check.cache_hit',
  'quota.cache_hit',
];

const headers = [
  ':authority',
  ':method',
  ':path',
  ':scheme',
  ':status',
  'accept',
  'accept-encoding',
  'accept-language',
  'authorization',
  'cache-control',
  'content-length',
  'content-type',
  'cookie',
  'date',
  'host',
  'location',
  'referer',
  'server',
  'set-cookie',
  'user-agent',
  'x-b3-flags',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-spanid',
  'x-b3-traceid',
  'b3',
  'traceparent',
  'tracestate',
  'x-envoy-upstream-service-time',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-request-id',
  'grpc-status',
  'grpc-message',
];

const values = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'PATCH',
  'OPTIONS',
  'http',
  'https',
  'grpc',
  'tcp',
  'app',
  'version',
  'v1',
  'v2',
  'v3',
  'istio-proxy',
  'application/json',
  'application/grpc',
  'text/plain',
  'text/html',
  'gzip',
  'open',
  'close',
  'continue',
  'inbound',
  'outbound',
  'default',
  'istio-system',
  'kube-system',
  'cluster.local',
  'unknown',
];

/** Appended in `istio-lite/2` (gateway reports, docs/reference/mixer.md "Who reports"). */
const appendedV2 = ['origin.ip', 'context.reporter.uid'];

/** Every word, index = position. */
export const globalDictionary: readonly string[] = Object.freeze([
  ...attributeNames,
  ...headers,
  ...values,
  ...appendedV2,
]);

export const globalWordCount = globalDictionary.length;

/** Word → index. */
export const globalIndex: ReadonlyMap<string, number> = new Map(
  globalDictionary.map((w, i) => [w, i]),
);
