/**
 * The webhook's self-managed certificates, kept in Secret `istio-sidecar-injector-certs` so every
 * replica serves under one CA and a restart keeps it. `ensure` returns material that is valid for
 * at least the renewal margin: it creates the Secret (two replicas racing: create, and on conflict
 * re-read), re-issues the serving certificate at its renewal point, and rolls the CA before it
 * expires, keeping the old CA in the bundle until it expires so no admission fails meanwhile.
 */
import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { isAlreadyExists, isConflict, isNotFound } from '../lib/kube/client.ts';
import type { Logger } from '../lib/log.ts';
import { certValidity, createCa, createServingCert, issuedBy } from './serving-certs.ts';

export const Keys = {
  CaCert: 'ca-cert.pem',
  CaKey: 'ca-key.pem',
  CaBundle: 'ca-bundle.pem',
  Cert: 'cert.pem',
  Key: 'key.pem',
} as const;

export interface CertStoreOptions {
  readonly kc: KubeConfig;
  readonly namespace: string;
  readonly secretName: string;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly caLifetimeMs: number;
  readonly servingLifetimeMs: number;
  /** Fraction of a lifetime after which a certificate is renewed (default 2/3). */
  readonly renewAt?: number;
  readonly logger: Logger;
}

export interface CertMaterial {
  readonly caCert: string;
  readonly caKey: string;
  /** Every CA certificate the API server must trust now (new CA first). */
  readonly caBundle: string;
  readonly cert: string;
  readonly key: string;
  /** When this material must be renewed. */
  readonly renewAt: Date;
}

const sans = 'istio-lite.io/serving-names';

function decode(s: V1Secret, k: string): string {
  const v = s.data?.[k];
  return v === undefined ? '' : Buffer.from(v, 'base64').toString('utf8');
}

function splitPem(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}

export class CertStore {
  private readonly core: CoreV1Api;
  private readonly opts: CertStoreOptions;
  private readonly ratio: number;

  constructor(opts: CertStoreOptions) {
    this.opts = opts;
    this.core = opts.kc.makeApiClient(CoreV1Api);
    this.ratio = opts.renewAt ?? 2 / 3;
  }

  private renewPoint(pem: string): Date | undefined {
    const v = certValidity(pem);
    if (v === undefined) return undefined;
    const life = v.notAfter.getTime() - v.notBefore.getTime();
    return new Date(v.notBefore.getTime() + life * this.ratio);
  }

  /** Reads the Secret, renewing what needs it; retries on write conflicts. */
  async ensure(now = new Date()): Promise<CertMaterial> {
    for (let attempt = 0; ; attempt++) {
      let secret: V1Secret | undefined;
      try {
        secret = await this.core.readNamespacedSecret({
          name: this.opts.secretName,
          namespace: this.opts.namespace,
        });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      const { material, changed } = this.next(secret, now);
      if (!changed && secret !== undefined) return material;
      try {
        await this.write(secret, material);
        return material;
      } catch (e) {
        if ((isConflict(e) || isAlreadyExists(e)) && attempt < 5) continue; // another replica won
        throw e;
      }
    }
  }

  private next(
    secret: V1Secret | undefined,
    now: Date,
  ): { material: CertMaterial; changed: boolean } {
    const o = this.opts;
    let caCert = secret ? decode(secret, Keys.CaCert) : '';
    let caKey = secret ? decode(secret, Keys.CaKey) : '';
    let bundle = secret ? splitPem(decode(secret, Keys.CaBundle)) : [];
    let cert = secret ? decode(secret, Keys.Cert) : '';
    let key = secret ? decode(secret, Keys.Key) : '';
    let changed = false;
    const caRenew = this.renewPoint(caCert);
    if (caRenew === undefined || caKey === '' || caRenew <= now) {
      if (caRenew !== undefined) o.logger.info('rolling the webhook CA before it expires');
      const ca = createCa('istio-sidecar-injector-ca', o.caLifetimeMs, now);
      caCert = ca.cert;
      caKey = ca.key;
      cert = '';
      changed = true;
    }
    // The bundle: the current CA first, then older CAs still valid (their serving certs may live on).
    const alive = (pem: string) => (certValidity(pem)?.notAfter.getTime() ?? 0) > now.getTime();
    const nextBundle = [caCert, ...bundle.filter((p) => p.trim() !== caCert.trim() && alive(p))];
    if (nextBundle.join('') !== bundle.join('')) changed = true;
    bundle = nextBundle.map((p) => (p.endsWith('\n') ? p : `${p}\n`));
    const names = [...o.dnsNames, ...o.ipAddresses].join(',');
    const servingRenew = this.renewPoint(cert);
    if (
      servingRenew === undefined ||
      servingRenew <= now ||
      key === '' ||
      !issuedBy(cert, caCert) ||
      secret?.metadata?.annotations?.[sans] !== names
    ) {
      const serving = createServingCert(
        { cert: caCert, key: caKey },
        o.dnsNames,
        o.ipAddresses,
        o.servingLifetimeMs,
        now,
      );
      cert = serving.cert;
      key = serving.key;
      changed = true;
    }
    const renewAt = new Date(
      Math.min(
        this.renewPoint(cert)?.getTime() ?? now.getTime(),
        this.renewPoint(caCert)?.getTime() ?? now.getTime(),
      ),
    );
    return { material: { caCert, caKey, caBundle: bundle.join(''), cert, key, renewAt }, changed };
  }

  private async write(existing: V1Secret | undefined, m: CertMaterial): Promise<void> {
    const enc = (s: string) => Buffer.from(s).toString('base64');
    const body: V1Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name: this.opts.secretName,
        namespace: this.opts.namespace,
        labels: { app: 'istio-sidecar-injector', 'app.kubernetes.io/managed-by': 'istio-lite' },
        annotations: { [sans]: [...this.opts.dnsNames, ...this.opts.ipAddresses].join(',') },
        ...(existing?.metadata?.resourceVersion
          ? { resourceVersion: existing.metadata.resourceVersion }
          : {}),
      },
      data: {
        [Keys.CaCert]: enc(m.caCert),
        [Keys.CaKey]: enc(m.caKey),
        [Keys.CaBundle]: enc(m.caBundle),
        [Keys.Cert]: enc(m.cert),
        [Keys.Key]: enc(m.key),
      },
    };
    if (existing === undefined) {
      await this.core.createNamespacedSecret({ namespace: this.opts.namespace, body });
    } else {
      await this.core.replaceNamespacedSecret({
        name: this.opts.secretName,
        namespace: this.opts.namespace,
        body,
      });
    }
    this.opts.logger.info(
      { secret: this.opts.secretName, renewAt: m.renewAt.toISOString() },
      'webhook certificates written',
    );
  }
}
