/**
 * Mapping rules Consul and Eureka share: the protocol words Istio 0.2 understood in their
 * metadata, and the checks an instance must pass to become an endpoint.
 */
import { isIP } from 'node:net';
import type { Protocol } from '../model/protocol.ts';

/** The protocol words of 0.2's Consul and Eureka adapters (compared in lower case). */
const words: Readonly<Record<string, Protocol>> = {
  tcp: 'TCP',
  udp: 'UDP',
  grpc: 'GRPC',
  http: 'HTTP',
  http2: 'HTTP2',
  https: 'HTTPS',
  mongo: 'MONGO',
  redis: 'REDIS',
};

/** The protocol a metadata word names, or undefined for a word 0.2 did not know. */
export function protocolWord(word: string): Protocol | undefined {
  return words[word.toLowerCase()];
}

/** Whether Envoy can take the address as an endpoint (EDS wants an IP, not a host name). */
export function isIpAddress(address: string): boolean {
  return isIP(address) !== 0;
}

/** Reports a mapping problem once per key (an instance left out, a protocol not understood). */
export type Warn = (key: string, message: string) => void;

/**
 * Remembers what was already warned about, so a registry read every few seconds logs each
 * problem once (the first `max` distinct problems; later ones are not logged).
 */
export class WarnOnce {
  private readonly seen = new Set<string>();
  private readonly max: number;

  constructor(max = 1000) {
    this.max = max;
  }

  /** True the first time `key` is seen (and while fewer than `max` keys were seen). */
  first(key: string): boolean {
    if (this.seen.has(key) || this.seen.size >= this.max) return false;
    this.seen.add(key);
    return true;
  }
}
