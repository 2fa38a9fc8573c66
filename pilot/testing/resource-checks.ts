/**
 * Checks every generated resource the way its client would: Envoy's protos (no unknown fields,
 * byte-for-byte round trip, nested Anys included), Envoy's validation rules, and for proxyless
 * clients `@grpc/grpc-js-xds`'s own resource validation (what it would NACK).
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { envoyRuleViolationsOf } from '../../lib/xds/envoy-rules.ts';
import { anyToJson } from '../../lib/xds/json-view.ts';
import { assertNoUnknownFields, decodeMessage, envoyRoot } from '../../lib/xds/protos.ts';
import { TypeUrl, XdsTypeOrder, type XdsType } from '../../lib/xds/type-urls.ts';
import type { Resource } from '../generate/resource.ts';
import type { ProxySnapshot } from '../snapshot/proxy-snapshot.ts';

export type Json = Record<string, unknown>;

export function allResources(snap: ProxySnapshot): Resource[] {
  return XdsTypeOrder.flatMap((t) => [...(snap.resources.get(t)?.values() ?? [])]);
}

/** A resource of the snapshot as JSON (proto field names); fails when absent. */
export function resourceJson(snap: ProxySnapshot, type: XdsType, name: string): Json {
  const r = snap.resources.get(type)?.get(name);
  assert.ok(
    r,
    `${name} in snapshot (have ${[...(snap.resources.get(type)?.keys() ?? [])].join(', ')})`,
  );
  return anyToJson(r.any);
}

/** Navigates a JSON tree by a path of keys and indexes. */
export function at(v: unknown, ...path: (string | number)[]): unknown {
  let cur = v;
  for (const p of path) cur = (cur as Record<string | number, unknown> | undefined)?.[p];
  return cur;
}

/** Envoy would accept it: schema round trip and validation rules. */
export function assertEnvoyAccepts(r: Resource): void {
  const any = decodeMessage('google.protobuf.Any', r.any);
  assert.equal(any['type_url'], r.typeUrl);
  const value = any['value'] as Uint8Array;
  assert.doesNotThrow(() => {
    assertNoUnknownFields(r.typeUrl, value);
  }, r.name);
  assert.deepEqual(envoyRuleViolationsOf(r.typeUrl, value), [], r.name);
}

export interface GrpcResourceType {
  decode(
    ctx: unknown,
    r: { type_url: string; value: Buffer },
  ): { name: string; error?: string; value?: unknown };
  /** How the client tells an update from what it holds (unchanged ones are ignored). */
  resourcesEqual(a: unknown, b: unknown): boolean;
}

type ResourceType = GrpcResourceType;

let grpcTypes: Record<string, ResourceType> | undefined;

function grpcResourceTypes(): Record<string, ResourceType> {
  if (grpcTypes) return grpcTypes;
  // Envoy's protos first: loading them gives protobufjs the descriptor.proto the client needs.
  envoyRoot();
  const require = createRequire(import.meta.url);
  const base = '@grpc/grpc-js-xds/build/src/xds-resource-type';
  // Its HTTP filter registry fills when the plugin registers, as a real client does.
  (require('@grpc/grpc-js-xds') as { register(): void }).register();
  const get = (file: string, name: string): ResourceType => {
    const mod = require(`${base}/${file}`) as Record<string, { get(): ResourceType } | undefined>;
    const t = mod[name];
    assert.ok(t, `${file} exports ${name}`);
    return t.get();
  };
  grpcTypes = {
    [TypeUrl.Listener]: get('listener-resource-type.js', 'ListenerResourceType'),
    [TypeUrl.RouteConfiguration]: get(
      'route-config-resource-type.js',
      'RouteConfigurationResourceType',
    ),
    [TypeUrl.Cluster]: get('cluster-resource-type.js', 'ClusterResourceType'),
    [TypeUrl.ClusterLoadAssignment]: get('endpoint-resource-type.js', 'EndpointResourceType'),
  };
  return grpcTypes;
}

/** The client's own resource type for a type URL. */
export function grpcResourceType(typeUrl: string): GrpcResourceType {
  const t = grpcResourceTypes()[typeUrl];
  assert.ok(t, typeUrl);
  return t;
}

/** The resource as @grpc/grpc-js-xds decodes it (what it compares updates with). */
export function grpcDecoded(r: Resource): unknown {
  const any = decodeMessage('google.protobuf.Any', r.any);
  return grpcResourceType(r.typeUrl).decode(
    { bootstrap: { certificateProviders: {} } },
    { type_url: r.typeUrl, value: Buffer.from(any['value'] as Uint8Array) },
  ).value;
}

/** @grpc/grpc-js-xds would accept it (no NACK). */
export function assertGrpcAccepts(r: Resource): void {
  const any = decodeMessage('google.protobuf.Any', r.any);
  const t = grpcResourceTypes()[r.typeUrl];
  assert.ok(t, r.typeUrl);
  const out = t.decode(
    { bootstrap: { certificateProviders: {} } },
    { type_url: r.typeUrl, value: Buffer.from(any['value'] as Uint8Array) },
  );
  assert.equal(out.error, undefined, `${r.name}: ${out.error ?? ''}`);
}
