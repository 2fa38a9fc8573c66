/**
 * Envoy's ALS `StreamAccessLogsMessage`, decoded with small schemas (field numbers from
 * data-plane-api) into the same plain objects @grpc/proto-loader would give (proto field names,
 * enums by name, int64 as numbers), so lib/mixer/envoy-attributes.ts maps them to attributes as it
 * does for Mixer; and the ext_authz `CheckResponse`, encoded by hand. (A `CheckRequest` goes
 * straight from its bytes to attributes: lib/mixer/authz-wire.ts.) The tests check them against
 * Envoy's protos.
 */
import protobuf from 'protobufjs';
import { decodeWith, list, msg, type Schema } from '../wire/decode.ts';

const time: Schema = {
  1: { name: 'seconds', kind: 'int64' },
  2: { name: 'nanos', kind: 'int32' },
};

const socketAddress: Schema = {
  2: { name: 'address', kind: 'string' },
  3: { name: 'port_value', kind: 'uint32' },
};

const address: Schema = { 1: { name: 'socket_address', kind: { message: socketAddress } } };

const requestMethods = [
  'METHOD_UNSPECIFIED',
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
];

const uint32Value: Schema = { 1: { name: 'value', kind: 'uint32' } };

const san: Schema = {
  1: { name: 'uri', kind: 'string' },
  2: { name: 'dns', kind: 'string' },
};

const common: Schema = {
  2: { name: 'downstream_remote_address', kind: { message: address } },
  3: { name: 'downstream_local_address', kind: { message: address } },
  4: {
    name: 'tls_properties',
    kind: {
      message: {
        5: {
          name: 'peer_certificate_properties',
          kind: {
            message: { 1: { name: 'subject_alt_name', kind: { message: san }, repeated: true } },
          },
        },
      },
    },
  },
  5: { name: 'start_time', kind: { message: time } },
  12: { name: 'time_to_last_downstream_tx_byte', kind: { message: time } },
  13: { name: 'upstream_remote_address', kind: { message: address } },
  15: { name: 'upstream_cluster', kind: 'string' },
  22: { name: 'custom_tags', kind: { map: 'string' } },
  23: { name: 'duration', kind: { message: time } },
};

const httpEntry: Schema = {
  1: { name: 'common_properties', kind: { message: common } },
  3: {
    name: 'request',
    kind: {
      message: {
        1: { name: 'request_method', kind: { enumNames: requestMethods } },
        2: { name: 'scheme', kind: 'string' },
        3: { name: 'authority', kind: 'string' },
        5: { name: 'path', kind: 'string' },
        6: { name: 'user_agent', kind: 'string' },
        7: { name: 'referer', kind: 'string' },
        9: { name: 'request_id', kind: 'string' },
        11: { name: 'request_headers_bytes', kind: 'uint64' },
        12: { name: 'request_body_bytes', kind: 'uint64' },
        13: { name: 'request_headers', kind: { map: 'string' } },
      },
    },
  },
  4: {
    name: 'response',
    kind: {
      message: {
        1: { name: 'response_code', kind: { message: uint32Value } },
        2: { name: 'response_headers_bytes', kind: 'uint64' },
        3: { name: 'response_body_bytes', kind: 'uint64' },
        4: { name: 'response_headers', kind: { map: 'string' } },
      },
    },
  },
};

const tcpEntry: Schema = {
  1: { name: 'common_properties', kind: { message: common } },
  2: {
    name: 'connection_properties',
    kind: {
      message: {
        1: { name: 'received_bytes', kind: 'uint64' },
        2: { name: 'sent_bytes', kind: 'uint64' },
      },
    },
  },
};

const alsMessage: Schema = {
  1: {
    name: 'identifier',
    kind: {
      message: {
        1: { name: 'node', kind: { message: { 1: { name: 'id', kind: 'string' } } } },
        2: { name: 'log_name', kind: 'string' },
      },
    },
  },
  2: {
    name: 'http_logs',
    kind: { message: { 1: { name: 'log_entry', kind: { message: httpEntry }, repeated: true } } },
  },
  3: {
    name: 'tcp_logs',
    kind: { message: { 1: { name: 'log_entry', kind: { message: tcpEntry }, repeated: true } } },
  },
};

export interface AlsMessage {
  readonly identifier: Record<string, unknown> | undefined;
  readonly http: readonly Record<string, unknown>[];
  readonly tcp: readonly Record<string, unknown>[];
}

export function decodeAlsMessage(bytes: Uint8Array): AlsMessage {
  const o = decodeWith(alsMessage, bytes);
  return {
    identifier: o['identifier'] === undefined ? undefined : msg(o['identifier']),
    http: list(msg(o['http_logs'])['log_entry']).map(msg),
    tcp: list(msg(o['tcp_logs'])['log_entry']).map(msg),
  };
}

/** The decision for Envoy: OK, or a denial with a status, and for HTTP a response to send. */
export interface AuthzDecision {
  readonly code: number;
  readonly message: string;
  /** For the HTTP filter when denied: the response status and body. */
  readonly denied?: { readonly httpStatus: number; readonly body: string };
}

function len(w: protobuf.Writer, field: number): protobuf.Writer {
  return w.uint32((field << 3) | 2).fork();
}

/**
 * CheckResponse { status = 1 google.rpc.Status{code = 1, message = 2},
 *   denied_response = 2 { status = 1 HttpStatus{code = 1}, headers = 2 HeaderValueOption
 *   {header = 1 HeaderValue{key = 1, value = 2}}, body = 3 }, ok_response = 3 {} }
 */
export function encodeAuthzResponse(d: AuthzDecision, http: boolean): Uint8Array {
  const w = protobuf.Writer.create();
  len(w, 1);
  if (d.code !== 0) w.uint32(1 << 3).int32(d.code);
  if (d.message !== '') w.uint32((2 << 3) | 2).string(d.message);
  w.ldelim();
  if (d.code === 0) {
    if (http) len(w, 3).ldelim();
  } else if (http && d.denied) {
    len(w, 2);
    len(w, 1)
      .uint32(1 << 3)
      .int32(d.denied.httpStatus)
      .ldelim();
    len(w, 2);
    len(w, 1)
      .uint32((1 << 3) | 2)
      .string('content-type')
      .uint32((2 << 3) | 2)
      .string('text/plain')
      .ldelim();
    w.ldelim();
    w.uint32((3 << 3) | 2).string(d.denied.body);
    w.ldelim();
  }
  return w.finish();
}
