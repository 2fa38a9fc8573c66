/**
 * The Mixer v1 messages as plain objects (proto field names), the shape @grpc/proto-loader decodes
 * into and encodes from. Maps keyed by dictionary index have string keys (`"-1"`), as in JSON.
 * Decoded requests are untrusted: lib/mixer/decompress.ts narrows them.
 */
export interface ProtoTime {
  readonly seconds: number;
  readonly nanos: number;
}

export interface StringMapMessage {
  readonly entries: Readonly<Record<string, number>>;
}

export interface CompressedAttributesMessage {
  readonly words?: readonly string[];
  readonly strings?: Readonly<Record<string, number>>;
  readonly int64s?: Readonly<Record<string, number>>;
  readonly doubles?: Readonly<Record<string, number>>;
  readonly bools?: Readonly<Record<string, boolean>>;
  readonly timestamps?: Readonly<Record<string, ProtoTime>>;
  readonly durations?: Readonly<Record<string, ProtoTime>>;
  readonly bytes?: Readonly<Record<string, Uint8Array>>;
  readonly string_maps?: Readonly<Record<string, StringMapMessage>>;
}

export interface QuotaParamsMessage {
  readonly amount: number;
  readonly best_effort: boolean;
}

export interface CheckRequestMessage {
  readonly attributes: CompressedAttributesMessage;
  readonly global_word_count: number;
  readonly deduplication_id?: string;
  readonly quotas?: Readonly<Record<string, QuotaParamsMessage>>;
}

export interface ReportRequestMessage {
  readonly attributes: readonly CompressedAttributesMessage[];
  readonly default_words?: readonly string[];
  readonly global_word_count: number;
}

export const Condition = {
  ABSENCE: 'ABSENCE',
  EXACT: 'EXACT',
  REGEX: 'REGEX',
} as const;

export type Condition = (typeof Condition)[keyof typeof Condition];

export interface AttributeMatchMessage {
  readonly name: number;
  readonly condition: Condition;
  readonly regex?: string;
  readonly map_key?: number;
}

export interface ReferencedAttributesMessage {
  readonly words: readonly string[];
  readonly attribute_matches: readonly AttributeMatchMessage[];
}

export interface RpcStatusMessage {
  readonly code: number;
  readonly message: string;
}

export interface PreconditionResultMessage {
  readonly status: RpcStatusMessage;
  readonly valid_duration: ProtoTime;
  readonly valid_use_count: number;
  readonly referenced_attributes: ReferencedAttributesMessage;
}

export interface QuotaResultMessage {
  readonly valid_duration: ProtoTime;
  readonly granted_amount: number;
  readonly referenced_attributes: ReferencedAttributesMessage;
}

export interface CheckResponseMessage {
  readonly precondition: PreconditionResultMessage;
  readonly quotas: Readonly<Record<string, QuotaResultMessage>>;
}
