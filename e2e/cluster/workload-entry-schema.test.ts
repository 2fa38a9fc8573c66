/**
 * The chart's WorkloadEntry and WorkloadGroup CRDs (networking.istio.io) in a real API server:
 * each served version (v1, v1beta1, v1alpha3) accepts modern Istio's fields and reads them back
 * unchanged, in its own version and in the stored one; malformed objects (an address that is not
 * an IP, ports out of range, an address in a WorkloadGroup's template...) are refused with a
 * message naming the field; `kubectl get` columns and short names are declared.
 */
import assert from 'node:assert/strict';
import { ApiextensionsV1Api, ApiException, CustomObjectsApi } from '@kubernetes/client-node';
import { isObject } from '../../lib/json.ts';
import { useLocalCluster } from './local-cluster.ts';
import { ensurePilotCrds } from './pilot-crds.ts';

const group = 'networking.istio.io';
const versions = ['v1', 'v1beta1', 'v1alpha3'] as const;

type Kind = 'WorkloadEntry' | 'WorkloadGroup';
const plurals: Readonly<Record<Kind, string>> = {
  WorkloadEntry: 'workloadentries',
  WorkloadGroup: 'workloadgroups',
};

interface Row {
  readonly name: string;
  readonly kind: Kind;
  readonly spec: object;
  /** Undefined: accepted and read back unchanged. Otherwise what the API server's message must contain. */
  readonly refused?: readonly string[];
}

const template = {
  ports: { http: 8080, 'grpc-api': 9090 },
  labels: { app: 'ratings', version: 'v1' },
  network: 'vpc-1',
  locality: 'us-east1/us-east1-b/rack-4',
  weight: 4294967295,
  serviceAccount: 'ratings',
};
const vm = { address: '10.128.0.7', ...template };

const rows: Row[] = [
  { name: "modern Istio's fields", kind: 'WorkloadEntry', spec: vm },
  { name: 'an IPv6 address', kind: 'WorkloadEntry', spec: { address: '2001:db8::7' } },
  { name: 'an address alone', kind: 'WorkloadEntry', spec: { address: '192.168.1.20' } },
  {
    name: 'a locality with a region only, weight 0',
    kind: 'WorkloadEntry',
    spec: { address: '10.0.0.1', locality: 'eu-west', weight: 0 },
  },
  {
    name: 'an address that is not an IP',
    kind: 'WorkloadEntry',
    spec: { address: 'not-an-ip' },
    refused: ['spec.address', 'must be an IP address (IPv4 or IPv6)'],
  },
  {
    name: 'an IPv4 address with an octet over 255',
    kind: 'WorkloadEntry',
    spec: { address: '10.0.0.300' },
    refused: ['spec.address', 'must be an IP address'],
  },
  {
    name: 'a DNS name as the address',
    kind: 'WorkloadEntry',
    spec: { address: 'vm-1.example.com' },
    refused: ['spec.address', 'must be an IP address'],
  },
  {
    name: 'a Unix socket as the address',
    kind: 'WorkloadEntry',
    spec: { address: 'unix:///var/run/ratings.sock' },
    refused: ['spec.address', 'must be an IP address'],
  },
  {
    name: 'an address with a port',
    kind: 'WorkloadEntry',
    spec: { address: '10.0.0.1:8080' },
    refused: ['spec.address', 'must be an IP address'],
  },
  {
    name: 'no address',
    kind: 'WorkloadEntry',
    spec: { ports: { http: 8080 } },
    refused: ['spec.address', 'Required value'],
  },
  {
    name: 'port 0',
    kind: 'WorkloadEntry',
    spec: { address: '10.0.0.1', ports: { http: 0 } },
    refused: ['spec.ports.http', 'greater than or equal to 1'],
  },
  {
    name: 'port 70000',
    kind: 'WorkloadEntry',
    spec: { address: '10.0.0.1', ports: { http: 70000 } },
    refused: ['spec.ports.http', 'less than or equal to 65535'],
  },
  {
    name: 'a port name that is not a DNS label',
    kind: 'WorkloadEntry',
    spec: { address: '10.0.0.1', ports: { HTTP_web: 80 } },
    refused: ['spec.ports', 'port names are DNS labels'],
  },
  {
    name: 'a negative weight',
    kind: 'WorkloadEntry',
    spec: { address: '10.0.0.1', weight: -1 },
    refused: ['spec.weight', 'greater than or equal to 0'],
  },
  {
    name: 'a weight over 2^32-1',
    kind: 'WorkloadEntry',
    spec: { address: '10.0.0.1', weight: 4294967296 },
    refused: ['spec.weight', 'less than or equal to 4294967295'],
  },
  {
    name: 'a service account that is not a DNS name',
    kind: 'WorkloadEntry',
    spec: { address: '10.0.0.1', serviceAccount: 'Ratings_SA' },
    refused: ['spec.serviceAccount'],
  },
  {
    name: 'a locality of four parts',
    kind: 'WorkloadEntry',
    spec: { address: '10.0.0.1', locality: 'a/b/c/d' },
    refused: ['spec.locality'],
  },
  {
    name: 'no spec',
    kind: 'WorkloadEntry',
    spec: {},
    refused: ['spec', 'Required value'],
  },
  {
    name: 'a template and metadata',
    kind: 'WorkloadGroup',
    spec: {
      metadata: { labels: { app: 'ratings' }, annotations: { team: 'books' } },
      template,
    },
  },
  {
    name: 'an address in the template',
    kind: 'WorkloadGroup',
    spec: { template: { address: '10.0.0.1', serviceAccount: 'ratings' } },
    refused: ['spec.template.address', 'a template has no address'],
  },
  {
    name: 'no template',
    kind: 'WorkloadGroup',
    spec: { metadata: { labels: { app: 'ratings' } } },
    refused: ['spec.template', 'Required value'],
  },
  {
    name: 'a template port out of range',
    kind: 'WorkloadGroup',
    spec: { template: { ports: { http: 0 } } },
    refused: ['spec.template.ports.http', 'greater than or equal to 1'],
  },
  {
    name: 'a template service account that is not a DNS name',
    kind: 'WorkloadGroup',
    spec: { template: { serviceAccount: 'Ratings_SA' } },
    refused: ['spec.template.serviceAccount'],
  },
];

/** An object with no `spec` is sent without one. */
function body(kind: Kind, version: string, name: string, spec: object): object {
  const o = { apiVersion: `${group}/${version}`, kind, metadata: { name } };
  return Object.keys(spec).length === 0 ? o : { ...o, spec };
}

describe('WorkloadEntry and WorkloadGroup CRDs on a real API server', function () {
  this.timeout(60_000);
  const env = useLocalCluster({ namespacePrefix: 'workload-entry' });
  let custom: CustomObjectsApi;

  before(async () => {
    await ensurePilotCrds(env.kc);
    custom = env.kc.makeApiClient(CustomObjectsApi);
  });

  rows.forEach((row, i) => {
    for (const version of versions) {
      it(`${row.kind} ${version}: ${row.refused ? 'refuses' : 'accepts'} ${row.name}`, async () => {
        const name = `case-${String(i)}-${version}`;
        const plural = plurals[row.kind];
        const create = custom.createNamespacedCustomObject({
          group,
          version,
          namespace: env.namespace,
          plural,
          body: body(row.kind, version, name, row.spec),
        });
        if (row.refused === undefined) {
          await create;
          // Read back in the version it was written in and in the stored one: the same spec.
          for (const readAs of new Set([version, 'v1'])) {
            const got: unknown = await custom.getNamespacedCustomObject({
              group,
              version: readAs,
              namespace: env.namespace,
              plural,
              name,
            });
            assert.ok(isObject(got), 'an object');
            assert.equal(got['apiVersion'], `${group}/${readAs}`);
            assert.deepEqual(got['spec'], row.spec, `read back as ${readAs}`);
          }
          return;
        }
        const err: unknown = await create.then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(err instanceof ApiException, 'refused');
        assert.equal(err.code, 422);
        const message = String((JSON.parse(String(err.body)) as { message?: unknown }).message);
        for (const want of row.refused) {
          assert.ok(message.includes(want), `"${want}" in: ${message}`);
        }
      });
    }
  });

  it('declares kubectl get columns, short names, categories and a status subresource', async () => {
    const ext = env.kc.makeApiClient(ApiextensionsV1Api);
    const want: Readonly<Record<Kind, readonly string[]>> = {
      WorkloadEntry: ['Address', 'Service Account', 'Age'],
      WorkloadGroup: ['Service Account', 'Age'],
    };
    for (const kind of Object.keys(plurals) as Kind[]) {
      const crd = await ext.readCustomResourceDefinition({ name: `${plurals[kind]}.${group}` });
      assert.deepEqual(crd.spec.names.shortNames, [kind === 'WorkloadEntry' ? 'we' : 'wg']);
      assert.deepEqual(crd.spec.names.categories, ['istio-io', 'networking-istio-io']);
      assert.deepEqual(
        crd.spec.versions.map((v) => [v.name, v.served, v.storage]),
        [
          ['v1', true, true],
          ['v1beta1', true, false],
          ['v1alpha3', true, false],
        ],
      );
      for (const v of crd.spec.versions) {
        assert.deepEqual(
          (v.additionalPrinterColumns ?? []).map((c) => c.name),
          want[kind],
          `${kind} ${v.name}`,
        );
        assert.ok(v.subresources?.status, `${kind} ${v.name} has a status subresource`);
      }
    }
  });
});
