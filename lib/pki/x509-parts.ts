/**
 * Names and subjectAltNames shared by certificates and certification requests (RFC 5280 4.1.2.4,
 * 4.2.1.6), encoded by @peculiar/x509.
 */
import { x509 } from './x509.ts';

export interface NameAttribute {
  readonly oid: string;
  readonly value: string;
}

/** A Name DER: one RDN per attribute, values as UTF8String. An empty list is the empty Name. */
export function name(attrs: readonly NameAttribute[]): Buffer {
  const rdns = attrs.map((a) => ({ [a.oid]: [{ utf8String: a.value }] }));
  return Buffer.from(new x509.Name(rdns).toArrayBuffer());
}

export interface SubjectAltNames {
  readonly uris?: readonly string[];
  readonly dnsNames?: readonly string[];
  readonly ips?: readonly string[];
}

/** The SAN extension (dNSNames, then URIs, then IP addresses); critical when the subject is empty (RFC 5280 4.2.1.6). */
export function subjectAltNameExtension(sans: SubjectAltNames, critical: boolean): x509.Extension {
  return new x509.SubjectAlternativeNameExtension(
    [
      ...(sans.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
      ...(sans.uris ?? []).map((value) => ({ type: 'url' as const, value })),
      ...(sans.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
    ],
    critical,
  );
}
