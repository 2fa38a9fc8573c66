/**
 * SDS (`envoy.service.secret.v3.SecretDiscoveryService`, state of the world) for the local Envoy:
 * secrets `default` (chain and key) and `ROOTCA` (trusted root) from a CertificateSource. Each
 * change of the certificate is pushed to every open stream with a new version, so Envoy rotates
 * without a restart. ACKs send nothing; a NACK is logged and counted and the same version is not
 * sent again; a stale nonce is ignored. Until the source has a certificate, requests wait.
 * In router mode, `secrets` also serves `kubernetes://<ns>/<name>` (agent/sds/kube-secrets.ts):
 * a change of one is pushed to the streams that asked for it; one not there yet is left out of
 * responses (Envoy waits for it), and a response with nothing to send is not sent.
 * Errors map to gRPC statuses in lib/grpc/status.ts: a request for another type or one that does
 * not decode is INVALID_ARGUMENT, FetchSecrets before the secrets exist UNAVAILABLE, anything
 * unexpected INTERNAL (its detail logged).
 */
import {
  type ServerDuplexStream,
  type ServerUnaryCall,
  type sendUnaryData,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { ErrorCode, IstioLiteError, errorMessage, isIstioLiteError } from '../../lib/errors.ts';
import { failedCall } from '../../lib/grpc/status.ts';
import type { Logger } from '../../lib/log.ts';
import { Counter, Gauge, type Registry } from '../../lib/metrics.ts';
import { encodeDiscoveryResponse } from '../../lib/xds/discovery-wire.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import type { CertificateSource, WorkloadCertificate } from '../certs/certificate-source.ts';
import { peekRequest, type RequestPeek } from '../wire/discovery.ts';
import type { NamedSecretSource } from './named-secrets.ts';
import { secretAny, tlsSecretAny } from './secret-wire.ts';

const internalMessage = "internal error in the agent's SDS";

/** The request, or INVALID_ARGUMENT (lib/grpc/status.ts) when its bytes are not one. */
function decodeRequest(bytes: Uint8Array): RequestPeek {
  try {
    return peekRequest(bytes);
  } catch (e) {
    throw new IstioLiteError(
      ErrorCode.InvalidRequest,
      `the request could not be decoded: ${errorMessage(e)}`,
      { cause: e },
    );
  }
}

export interface SdsServerOptions {
  readonly source: CertificateSource;
  readonly logger: Logger;
  readonly metrics: Registry;
  /** Further named secrets (router mode: `kubernetes://<ns>/<name>`). */
  readonly secrets?: NamedSecretSource;
}

interface SdsStream {
  readonly id: number;
  names: readonly string[];
  lastNonce: string;
  sentVersion: number;
  write(bytes: Uint8Array): void;
  end(): void;
}

export class SdsServer {
  private readonly o: SdsServerOptions;
  private readonly streams = new Set<SdsStream>();
  private version = 0;
  private cert: WorkloadCertificate | undefined;
  private nonce = 0;
  private ids = 0;
  private readonly pushes: Counter;
  private readonly nacks: Counter;
  private readonly connected: Gauge;

  constructor(o: SdsServerOptions) {
    this.o = o;
    this.pushes = new Counter({
      name: 'istio_agent_sds_pushes_total',
      help: 'SDS responses sent to Envoy',
      registers: [o.metrics],
    });
    this.nacks = new Counter({
      name: 'istio_agent_sds_nacks_total',
      help: 'SDS responses Envoy rejected',
      registers: [o.metrics],
    });
    this.connected = new Gauge({
      name: 'istio_agent_sds_streams',
      help: 'open SDS streams',
      registers: [o.metrics],
    });
    const set = (c: WorkloadCertificate) => {
      this.cert = c;
      this.version++;
      for (const s of this.streams) this.send(s);
    };
    const now = o.source.current();
    if (now) set(now);
    o.source.onChange(set);
    o.secrets?.onChange((name) => {
      this.version++;
      for (const s of this.streams) if (s.names.includes(name)) this.send(s);
    });
  }

  /** Called when the source produced its first certificate after this server was built. */
  certificateReady(c: WorkloadCertificate): void {
    if (this.cert !== undefined) return;
    this.cert = c;
    this.version++;
    for (const s of this.streams) this.send(s);
  }

  /** The version currently served (0 = no certificate yet). */
  servedVersion(): number {
    return this.version;
  }

  private response(names: readonly string[]): Uint8Array | undefined {
    const cert = this.cert;
    const named = this.o.secrets;
    const resources: Uint8Array[] = [];
    for (const n of names) {
      if (named?.handles(n)) {
        const tls = named.get(n);
        if (tls) resources.push(tlsSecretAny(n, tls.chainPem, tls.keyPem));
        continue;
      }
      if (!cert) continue;
      const any = secretAny(n, cert);
      if (any) resources.push(any);
      else
        this.o.logger.warn({ secret: n }, 'Envoy asked SDS for a secret the agent does not serve');
    }
    if (resources.length === 0) return undefined;
    return encodeDiscoveryResponse({
      versionInfo: String(this.version),
      resources,
      typeUrl: TypeUrl.Secret,
      nonce: String(++this.nonce),
      controlPlane: 'istio-lite-agent',
    });
  }

  private send(s: SdsStream): void {
    if (s.names.length === 0) return;
    const bytes = this.response(s.names);
    if (!bytes) return;
    s.lastNonce = String(this.nonce);
    s.sentVersion = this.version;
    s.write(bytes);
    this.pushes.inc();
    this.o.logger.debug({ stream: s.id, names: s.names, version: this.version }, 'SDS push');
  }

  private onRequest(s: SdsStream, bytes: Uint8Array): void {
    const req = decodeRequest(bytes);
    if (req.typeUrl !== '' && req.typeUrl !== TypeUrl.Secret) {
      throw new IstioLiteError(
        ErrorCode.InvalidRequest,
        `SDS serves ${TypeUrl.Secret}, not ${req.typeUrl}`,
      );
    }
    if (req.responseNonce !== '' && req.responseNonce !== s.lastNonce) return; // stale
    if (req.errorDetail) {
      this.nacks.inc();
      this.o.logger.warn(
        { stream: s.id, names: s.names, version: s.sentVersion, error: req.errorDetail.message },
        'Envoy rejected a secret',
      );
      return;
    }
    const changed =
      req.resourceNames.length !== s.names.length ||
      req.resourceNames.some((n, i) => n !== s.names[i]);
    s.names = [...req.resourceNames];
    if (req.responseNonce === '' || changed || s.sentVersion !== this.version) this.send(s);
  }

  /** gRPC handlers, to add to a server with agent/grpc/raw-service.ts `SdsService`. */
  handlers(): UntypedServiceImplementation {
    return {
      StreamSecrets: (call: ServerDuplexStream<Buffer, Uint8Array>) => {
        const s: SdsStream = {
          id: ++this.ids,
          names: [],
          lastNonce: '',
          sentVersion: 0,
          write: (b) => {
            call.write(b);
          },
          end: () => {
            call.end();
          },
        };
        this.streams.add(s);
        this.connected.set(this.streams.size);
        const done = () => {
          if (this.streams.delete(s)) this.connected.set(this.streams.size);
        };
        call.on('data', (b: Buffer) => {
          try {
            this.onRequest(s, b);
          } catch (e) {
            if (isIstioLiteError(e)) {
              this.o.logger.warn({ stream: s.id, err: errorMessage(e) }, 'SDS stream refused');
            }
            done();
            call.emit('error', failedCall(e, internalMessage, this.o.logger, { stream: s.id }));
          }
        });
        call.on('end', () => {
          done();
          call.end();
        });
        call.on('cancelled', done);
        call.on('error', done);
        call.on('close', done);
      },
      FetchSecrets: (call: ServerUnaryCall<Buffer, Uint8Array>, cb: sendUnaryData<Uint8Array>) => {
        try {
          const bytes = this.response(decodeRequest(call.request).resourceNames);
          if (!bytes) {
            throw new IstioLiteError(ErrorCode.External, 'none of these secrets is there yet');
          }
          cb(null, bytes);
        } catch (e) {
          cb(failedCall(e, internalMessage, this.o.logger, { call: 'FetchSecrets' }));
        }
      },
    };
  }

  /** Ends every stream (shutdown). */
  close(): void {
    for (const s of this.streams) s.end();
    this.streams.clear();
    this.connected.set(0);
  }
}
