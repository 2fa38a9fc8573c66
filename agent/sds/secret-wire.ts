/**
 * `envoy.extensions.transport_sockets.tls.v3.Secret` messages as SDS serves them, encoded by hand
 * (field numbers from the .proto; the tests decode them with Envoy's protos): `default` holds the
 * workload's chain and key inline, `ROOTCA` the mesh root as the trusted CA.
 */
import protobuf from 'protobufjs';
import { SdsSecret } from '../../lib/xds/agent-clusters.ts';
import { encodeAny } from '../../lib/xds/discovery-wire.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import type { WorkloadCertificate } from '../certs/certificate-source.ts';

/** DataSource { inline_bytes = 2 } */
function dataSource(w: protobuf.Writer, field: number, pem: string): void {
  w.uint32((field << 3) | 2)
    .fork()
    .uint32((2 << 3) | 2)
    .bytes(Buffer.from(pem, 'utf8'))
    .ldelim();
}

/** Secret { name = 1, tls_certificate = 2 { certificate_chain = 1, private_key = 2 } } */
export function encodeTlsCertificateSecret(
  name: string,
  chainPem: string,
  keyPem: string,
): Uint8Array {
  const w = protobuf.Writer.create();
  w.uint32((1 << 3) | 2).string(name);
  w.uint32((2 << 3) | 2).fork();
  dataSource(w, 1, chainPem);
  dataSource(w, 2, keyPem);
  w.ldelim();
  return w.finish();
}

/** Secret { name = 1, validation_context = 4 { trusted_ca = 1 } } */
export function encodeValidationSecret(name: string, rootPem: string): Uint8Array {
  const w = protobuf.Writer.create();
  w.uint32((1 << 3) | 2).string(name);
  w.uint32((4 << 3) | 2).fork();
  dataSource(w, 1, rootPem);
  w.ldelim();
  return w.finish();
}

/** A chain and key under any name (a Kubernetes TLS Secret) as an encoded `Any`. */
export function tlsSecretAny(name: string, chainPem: string, keyPem: string): Uint8Array {
  return encodeAny(TypeUrl.Secret, encodeTlsCertificateSecret(name, chainPem, keyPem));
}

/** The named secret as an encoded `Any`, or undefined when the name is not one the agent serves. */
export function secretAny(name: string, cert: WorkloadCertificate): Uint8Array | undefined {
  switch (name) {
    case SdsSecret.Default:
      return encodeAny(
        TypeUrl.Secret,
        encodeTlsCertificateSecret(name, cert.chainPem, cert.keyPem),
      );
    case SdsSecret.RootCa:
      return encodeAny(TypeUrl.Secret, encodeValidationSecret(name, cert.rootPem));
    default:
      return undefined;
  }
}
