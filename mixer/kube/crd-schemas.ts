/**
 * OpenAPI schemas of Mixer's config kinds, as data. Each field may also be spelled in snake_case
 * (`instance_name`), as Istio's jsonpb configs were; user map keys are free. The API server uses
 * these to refuse a malformed object, naming the field, before Mixer ever sees it.
 */
export type Schema = Readonly<Record<string, unknown>>;

const str: Schema = { type: 'string' };
const bool: Schema = { type: 'boolean' };
const num: Schema = { type: 'number' };
const int = (minimum = 0, maximum?: number): Schema => ({
  type: 'integer',
  minimum,
  ...(maximum === undefined ? {} : { maximum }),
});
const duration: Schema = {
  type: 'string',
  pattern: '^([0-9]+(\\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$',
  description: 'A duration such as 1s, 500ms or 1m30s.',
};
const expression: Schema = { type: 'string', description: 'An expression over attributes.' };
const strMap: Schema = { type: 'object', additionalProperties: { type: 'string' } };
const exprMap: Schema = { type: 'object', additionalProperties: expression };
const strList: Schema = { type: 'array', items: str };
const oneOf = (...values: string[]): Schema => ({ type: 'string', enum: values });

function snake(k: string): string {
  return k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** An object whose fields may be written camelCase or snake_case; `required` in camelCase. */
export function obj(properties: Record<string, Schema>, required: readonly string[] = []): Schema {
  const props: Record<string, Schema> = {};
  for (const [k, v] of Object.entries(properties)) {
    props[k] = v;
    if (snake(k) !== k) props[snake(k)] = v;
  }
  const req = required.map((k) =>
    snake(k) === k ? { required: [k] } : { anyOf: [{ required: [k] }, { required: [snake(k)] }] },
  );
  return {
    type: 'object',
    properties: props,
    ...(req.length === 0 ? {} : { allOf: req }),
  };
}

const list = (items: Schema, minItems = 0): Schema => ({
  type: 'array',
  items,
  ...(minItems > 0 ? { minItems } : {}),
});

const quotaOverride = (withDuration: boolean): Schema =>
  obj({
    dimensions: strMap,
    maxAmount: int(),
    ...(withDuration ? { validDuration: duration } : {}),
  });

/** An enum by name or by number, as jsonpb reads it (0.2's stackdriver config wrote numbers). */
const enumOrNumber = (...values: string[]): Schema => ({
  'x-kubernetes-int-or-string': true,
  enum: [...values, ...values.map((_, i) => i)],
});

const stackdriverBuckets = obj({
  linearBuckets: obj({ numFiniteBuckets: int(1), width: num, offset: num }),
  exponentialBuckets: obj({ numFiniteBuckets: int(1), growthFactor: num, scale: num }),
  explicitBuckets: obj({ bounds: list(num) }),
});

const stackdriver = obj(
  {
    endpoint: str,
    projectId: str,
    pushInterval: duration,
    appCredentials: bool,
    apiKey: str,
    serviceAccountPath: str,
    metricInfo: {
      type: 'object',
      additionalProperties: obj({
        kind: enumOrNumber('METRIC_KIND_UNSPECIFIED', 'GAUGE', 'DELTA', 'CUMULATIVE'),
        value: enumOrNumber(
          'VALUE_TYPE_UNSPECIFIED',
          'BOOL',
          'INT64',
          'DOUBLE',
          'STRING',
          'DISTRIBUTION',
          'MONEY',
        ),
        buckets: stackdriverBuckets,
      }),
    },
    logInfo: {
      type: 'object',
      additionalProperties: obj({
        labelNames: strList,
        payloadTemplate: str,
        httpMapping: obj(
          Object.fromEntries(
            [
              'status',
              'requestSize',
              'responseSize',
              'latency',
              'localIp',
              'remoteIp',
              'url',
              'method',
              'userAgent',
              'referer',
            ].map((k) => [k, str]),
          ),
        ),
      }),
    },
  },
  ['projectId'],
);

export const specSchemas: Readonly<Record<string, Schema>> = {
  rule: obj(
    {
      match: expression,
      actions: list(
        obj({ handler: str, instances: list(str, 1), name: str }, ['handler', 'instances']),
        1,
      ),
    },
    ['actions'],
  ),
  checknothing: obj({}),
  reportnothing: obj({}),
  listentry: obj({ value: expression }, ['value']),
  logentry: obj({
    severity: expression,
    timestamp: expression,
    variables: exprMap,
    monitoredResourceType: expression,
    monitoredResourceDimensions: exprMap,
  }),
  metric: obj(
    {
      value: expression,
      dimensions: exprMap,
      monitoredResourceType: expression,
      monitoredResourceDimensions: exprMap,
    },
    ['value'],
  ),
  quota: obj({ dimensions: exprMap }),
  denier: obj({
    status: obj({
      code: int(0, 16),
      message: str,
      details: {
        type: 'array',
        items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      },
    }),
    validDuration: duration,
    validUseCount: int(),
  }),
  listchecker: obj({
    providerUrl: str,
    refreshInterval: duration,
    ttl: duration,
    cachingInterval: duration,
    cachingUseCount: int(),
    overrides: strList,
    entryType: oneOf('STRINGS', 'CASE_INSENSITIVE_STRINGS', 'IP_ADDRESSES'),
    blacklist: bool,
  }),
  memquota: obj({
    quotas: list(
      obj(
        {
          name: str,
          maxAmount: int(),
          validDuration: duration,
          overrides: list(quotaOverride(true)),
        },
        ['name'],
      ),
    ),
    minDeduplicationDuration: duration,
  }),
  redisquota: obj(
    {
      quotas: list(
        obj(
          {
            name: str,
            maxAmount: int(),
            validDuration: duration,
            bucketDuration: duration,
            rateLimitAlgorithm: oneOf('FIXED_WINDOW', 'ROLLING_WINDOW'),
            overrides: list(quotaOverride(false)),
          },
          ['name'],
        ),
      ),
      redisServerUrl: str,
      connectionPoolSize: int(),
    },
    ['redisServerUrl'],
  ),
  prometheus: obj({
    metrics: list(
      obj(
        {
          name: str,
          instanceName: str,
          description: str,
          kind: oneOf('GAUGE', 'COUNTER', 'DISTRIBUTION'),
          labelNames: strList,
          buckets: obj({
            explicitBuckets: obj({ bounds: list(num) }),
            linearBuckets: obj({ numFiniteBuckets: int(1), width: num, offset: num }),
            exponentialBuckets: obj({ numFiniteBuckets: int(1), growthFactor: num, scale: num }),
          }),
        },
        ['name', 'instanceName'],
      ),
    ),
  }),
  stdio: obj({
    logStream: oneOf('STDOUT', 'STDERR', 'FILE'),
    severityLevels: { type: 'object', additionalProperties: oneOf('INFO', 'WARNING', 'ERROR') },
    metricLevel: oneOf('INFO', 'WARNING', 'ERROR'),
    outputLevel: oneOf('INFO', 'WARNING', 'ERROR'),
    outputAsJson: bool,
    outputPath: str,
    maxMegabytesBeforeRotation: int(),
    maxDaysBeforeRotation: int(),
    maxRotatedFiles: int(),
  }),
  statsd: obj(
    {
      address: str,
      prefix: str,
      flushDuration: duration,
      flushBytes: int(64),
      samplingRate: { type: 'number', minimum: 0, maximum: 1 },
      metrics: {
        type: 'object',
        additionalProperties: obj({
          type: oneOf('COUNTER', 'GAUGE', 'DISTRIBUTION'),
          nameTemplate: str,
        }),
      },
    },
    ['address'],
  ),
  stackdriver,
};
