/**
 * The webhook's own certificates when none are mounted: a small CA and a serving certificate for
 * the webhook Service's DNS names (and loopback in local mode), ECDSA P-256 signed natively
 * (lib/pki/simple-certs.ts). Workload certificates are the CA service's job, not this.
 */
import { X509Certificate } from 'node:crypto';
import { createSelfSignedCa, issueCertificate, type PemPair } from '../lib/pki/simple-certs.ts';

export type CaMaterial = PemPair;
export type ServingMaterial = PemPair;

export function createCa(commonName: string, lifetimeMs: number, now = new Date()): CaMaterial {
  return createSelfSignedCa(commonName, lifetimeMs, now);
}

export function createServingCert(
  ca: CaMaterial,
  dnsNames: readonly string[],
  ipAddresses: readonly string[],
  lifetimeMs: number,
  now = new Date(),
): ServingMaterial {
  return issueCertificate(ca, {
    commonName: dnsNames[0] ?? ipAddresses[0] ?? 'istio-sidecar-injector',
    dnsNames,
    ips: ipAddresses,
    serverAuth: true,
    lifetimeMs,
    now,
  });
}

/** Validity of a PEM certificate, or undefined when it does not parse. */
export function certValidity(pem: string): { notBefore: Date; notAfter: Date } | undefined {
  try {
    const x = new X509Certificate(pem);
    return { notBefore: new Date(x.validFrom), notAfter: new Date(x.validTo) };
  } catch {
    return undefined;
  }
}

/** True when `cert` was issued by `caCert` (signature check). */
export function issuedBy(cert: string, caCert: string): boolean {
  try {
    return new X509Certificate(cert).verify(new X509Certificate(caCert).publicKey);
  } catch {
    return false;
  }
}
