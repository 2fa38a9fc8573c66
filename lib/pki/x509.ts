/**
 * The one entry point to @peculiar/x509 (import the library from here, never directly): its
 * dependency-injection container needs a Reflect polyfill loaded before it, and its WebCrypto
 * provider is node:crypto's. Certificates and requests are assembled with the library's ASN.1
 * schema (@peculiar/asn1-x509, @peculiar/asn1-csr, which @peculiar/x509 is built on) and signed
 * with node:crypto: the library's generators are async (WebCrypto) while the callers (the CA's
 * issuance path, the webhook's certificate store, the agents' CSRs) are synchronous.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

export { x509 };
