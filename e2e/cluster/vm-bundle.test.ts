/**
 * `istio-lite vm bundle` against a real API server and the real CA: the bundle's every file from
 * what the cluster holds (addresses from NodePort mesh-expansion Services and a Node's
 * InternalIP, or from flags), a second run into the same folder, bad input refused with nothing
 * created, the Secret removed when the last step fails, and the bundle's token getting a
 * certificate from the CA. Its own cluster: it creates a Node, which other suites must not see.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  CoreV1Api,
  CustomObjectsApi,
  NetworkingV1Api,
  type V1Service,
} from '@kubernetes/client-node';
import type { RunningCa } from '../../ca/run.ts';
import { BootstrapTokenSecret, bootstrapTokenHash } from '../../lib/ca/bootstrap-token-secret.ts';
import { freePort } from '../../lib/free-ports.ts';
import { parseOptions } from '../../lib/config/options.ts';
import { createVmBundle } from '../../vm/bundle.ts';
import { parseBundleRequest, vmBundleOptions } from '../../vm/bundle-args.ts';
import { fsBundleWriter } from '../../vm/bundle-files.ts';
import { parseClusterEnv } from '../../vm/cluster-env.ts';
import { units } from '../../vm/units.ts';
import { startCa } from './ca-support.ts';
import { useLocalCluster } from './local-cluster.ts';
import { ensurePilotCrds } from './pilot-crds.ts';

const cli = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));
const mesh = 'authPolicy: MUTUAL_TLS\ntrustDomain: mesh.example\n';
/**
 * The node a NodePort is reached through: the cluster's first Ready node by name, a simulated node
 * whose InternalIP its kubelet (kwok) reported.
 */
const nodeName = 'kwok-node-0';
let nodeIp = '';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function run(args: readonly string[]): Promise<Run> {
  try {
    const r = await promisify(execFile)(process.execPath, [cli, ...args], {
      env: { ...process.env, KUBECONFIG: '', LOG_LEVEL: 'silent' },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: x.code ?? -1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

describe('istio-lite vm bundle on a real API server', function () {
  this.timeout(120_000);
  const env = useLocalCluster({ dedicated: true, namespacePrefix: 'vm-cp' });
  const vmns = `vm-${String(process.pid)}`;
  let ca: RunningCa;
  let work: string;
  let cpns: string;
  const core = () => env.kc.makeApiClient(CoreV1Api);
  const tokenSecrets = async (namespace = cpns) =>
    (
      await core().listNamespacedSecret({
        namespace,
        fieldSelector: `type=${BootstrapTokenSecret.Type}`,
      })
    ).items.map((s) => s.metadata?.name ?? '');
  const nodePortService = (name: string, app: string, port: number): V1Service => ({
    metadata: { name, namespace: cpns },
    spec: { type: 'NodePort', selector: { app }, ports: [{ name: 'grpc', port }] },
  });
  const base = () => [
    'vm',
    'bundle',
    ...['-s', 'db', '-n', vmns, '--kubeconfig', env.kubeconfig],
    ...['--control-plane-namespace', cpns],
  ];

  before(async () => {
    cpns = env.namespace;
    work = mkdtempSync(join(tmpdir(), 'vm-bundle-'));
    await core().createNamespace({ body: { metadata: { name: vmns } } });
    await core().createNamespacedServiceAccount({
      namespace: vmns,
      body: { metadata: { name: 'db' } },
    });
    await core().createNamespacedConfigMap({
      namespace: cpns,
      body: { metadata: { name: 'istio' }, data: { mesh } },
    });
    ca = await startCa(env.kc, cpns, { 'trust-domain': 'mesh.example' });
    await ensurePilotCrds(env.kc);
    await env.kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: 'networking.istio.io',
      version: 'v1',
      plural: 'workloadgroups',
      namespace: vmns,
      body: {
        apiVersion: 'networking.istio.io/v1',
        kind: 'WorkloadGroup',
        metadata: { name: 'db' },
        spec: { metadata: { labels: { app: 'db' } }, template: { serviceAccount: 'db' } },
      },
    });
    const node = await core().readNode({ name: nodeName });
    nodeIp = node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '';
    assert.notEqual(nodeIp, '');
    await core().createNamespacedService({
      namespace: cpns,
      body: nodePortService('istio-pilot-ilb', 'istio-pilot', 15010),
    });
    await core().createNamespacedService({
      namespace: cpns,
      body: nodePortService('istio-ca-ilb', 'istio-ca', 8060),
    });
  });

  after(async () => {
    await ca.close();
    rmSync(work, { recursive: true, force: true });
  });

  const nodePort = async (name: string) =>
    (await core().readNamespacedService({ namespace: cpns, name })).spec?.ports?.[0]?.nodePort;

  it('writes every file from what the cluster holds, and registers the token with the CA', async () => {
    const dir = join(work, 'discovered');
    const r = await run([
      ...base(),
      ...['-o', dir, '--group', 'db', '--ip', '10.0.0.7', '--token-ttl', '1h'],
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    const pilotPort = await nodePort('istio-pilot-ilb');
    const caPort = await nodePort('istio-ca-ilb');
    const cidrs = (
      await env.kc.makeApiClient(NetworkingV1Api).readServiceCIDR({ name: 'kubernetes' })
    ).spec?.cidrs;
    assert.ok(cidrs && cidrs.length > 0);
    const text = readFileSync(join(dir, 'cluster.env'), 'utf8');
    const clusterEnv = parseClusterEnv(text);
    assert.deepEqual(clusterEnv, {
      ISTIO_SERVICE_CIDR: cidrs.join(','),
      ISTIO_INBOUND_PORTS: '*',
      ISTIO_LOCAL_EXCLUDE_PORTS: '22,15020,15021,15090',
      PILOT_ADDRESS: `istio-pilot.${cpns}.svc:${String(pilotPort)}`,
      MIXER_ADDRESS: '',
      CA_ADDRESS: `istio-ca.${cpns}.svc:${String(caPort)}`,
      CA_SERVER_NAME: `istio-ca.${cpns}.svc`,
      POD_NAMESPACE: vmns,
      SERVICE_ACCOUNT: 'db',
      TRUST_DOMAIN: 'mesh.example',
      ISTIO_META_AUTO_REGISTER_GROUP: 'db',
      INSTANCE_IP: '10.0.0.7',
    });
    assert.equal(
      readFileSync(join(dir, 'hosts'), 'utf8'),
      `${nodeIp} istio-pilot.${cpns}.svc istio-ca.${cpns}.svc\n`,
    );
    assert.equal(readFileSync(join(dir, 'mesh.yaml'), 'utf8'), mesh);
    assert.equal(readFileSync(join(dir, 'root-cert.pem'), 'utf8'), ca.authority.rootPem);
    const token = readFileSync(join(dir, 'istio-token'), 'utf8').trim();
    assert.match(token, /^[0-9a-f]{64}$/);
    assert.equal(statSync(join(dir, 'istio-token')).mode & 0o777, 0o600);
    for (const u of units) assert.equal(readFileSync(join(dir, u.name), 'utf8'), u.text);
    assert.deepEqual(
      readdirSync(dir).sort(),
      [
        'cluster.env',
        'hosts',
        'istio-token',
        'mesh.yaml',
        'root-cert.pem',
        ...units.map((u) => u.name),
      ].sort(),
    );

    const [name, ...more] = await tokenSecrets();
    assert.equal(more.length, 0);
    assert.match(name ?? '', /^istio-vm-token-db-[0-9a-f]{6}$/);
    const secret = await core().readNamespacedSecret({ namespace: cpns, name: name ?? '' });
    const data = (k: string) => Buffer.from(secret.data?.[k] ?? '', 'base64').toString('utf8');
    assert.equal(data('token-sha256'), bootstrapTokenHash(token));
    assert.equal(data('namespace'), vmns);
    assert.equal(data('serviceAccount'), 'db');
    const expires = new Date(data('expiration')).getTime();
    assert.ok(Math.abs(expires - (Date.now() + 3_600_000)) < 60_000, data('expiration'));
    assert.equal(secret.metadata?.labels?.['istio-lite.io/vm-namespace'], vmns);
    assert.ok(!JSON.stringify(secret).includes(token), 'the token itself is not stored');

    const lines = r.stderr.trim().split('\n');
    assert.match(lines[0] ?? '', new RegExp(`^wrote ${dir}: cluster\\.env, mesh\\.yaml`));
    assert.match(r.stderr, new RegExp(`registered as Secret ${cpns}/${name ?? ''} \\(node db-`));
    assert.match(r.stderr, /note: no Mixer: Service .*mixer-ilb not found/);
    assert.match(
      r.stderr,
      new RegExp(
        `note: istio-ca\\.${cpns}\\.svc:${String(caPort)} \\(${nodeIp} in hosts\\): from Service ${cpns}/istio-ca-ilb \\(NodePort on node ${nodeName}\\)`,
      ),
    );
    assert.match(lines.at(-1) ?? '', /^next: copy .* to the VM/);
    assert.ok(!r.stderr.includes('{'), 'lines for a person, not JSON');

    // The VM's node agent, as its unit runs it, gets a certificate with the bundle's token.
    const agent = await run([
      'node-agent',
      '--once',
      ...['--ca-address', `127.0.0.1:${String(ca.grpcPort)}`],
      ...['--ca-server-name', clusterEnv['CA_SERVER_NAME']],
      ...['--root-cert', join(dir, 'root-cert.pem'), '--token-file', join(dir, 'istio-token')],
      ...['--namespace', vmns, '--service-account', 'db'],
      ...['--trust-domain', clusterEnv['TRUST_DOMAIN'], '--cert-dir', join(work, 'certs')],
    ]);
    assert.equal(agent.code, 0, agent.stderr);
    const chain = readFileSync(join(work, 'certs', 'cert-chain.pem'), 'utf8');
    assert.equal(
      new X509Certificate(chain).subjectAltName,
      `URI:spiffe://mesh.example/ns/${vmns}/sa/db`,
    );
  });

  it('refuses a folder that holds a bundle, and replaces it with --force (addresses from flags)', async () => {
    const dir = join(work, 'again');
    assert.equal((await run([...base(), '-o', dir, '--node', 'again-1'])).code, 0);
    const before = readFileSync(join(dir, 'cluster.env'), 'utf8');
    const secrets = await tokenSecrets();
    const refused = await run([...base(), '-o', dir, '--node', 'again-2']);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /already holds a bundle \(cluster\.env, .*\): pass --force to replace it/,
    );
    assert.deepEqual(await tokenSecrets(), secrets, 'no Secret');
    assert.equal(readFileSync(join(dir, 'cluster.env'), 'utf8'), before);

    const forced = await run([
      ...base(),
      ...['-o', dir, '--node', 'again-2', '--force', '--service-cidr', '10.96.0.0/16'],
      ...['--pilot-address', '127.0.0.1:15010', '--mixer-address', '10.9.9.9:9091'],
      ...['--ca-address', 'ca.mesh.example:8060'],
    ]);
    assert.equal(forced.code, 0, forced.stderr);
    const e = parseClusterEnv(readFileSync(join(dir, 'cluster.env'), 'utf8'));
    assert.equal(e['ISTIO_SERVICE_CIDR'], '10.96.0.0/16');
    assert.equal(e['PILOT_ADDRESS'], `istio-pilot.${cpns}.svc:15010`);
    assert.equal(e['MIXER_ADDRESS'], `istio-mixer.${cpns}.svc:9091`);
    assert.equal(e['CA_ADDRESS'], 'ca.mesh.example:8060');
    assert.equal(e['CA_SERVER_NAME'], `istio-ca.${cpns}.svc`);
    assert.equal(
      readFileSync(join(dir, 'hosts'), 'utf8'),
      `127.0.0.1 istio-pilot.${cpns}.svc\n10.9.9.9 istio-mixer.${cpns}.svc\n`,
    );
    assert.match(
      forced.stderr,
      new RegExp(
        `the replaced bundle's token is still valid \\(Secret ${cpns}/istio-vm-token-again-1\\)`,
      ),
    );
    assert.deepEqual((await tokenSecrets()).sort(), [...secrets, 'istio-vm-token-again-2'].sort());
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.startsWith('.')),
      [],
      'no staging left',
    );
  });

  it('refuses bad input, naming what was wrong, and creates no Secret and no file', async () => {
    const cp2 = `${cpns}-bare`;
    await core().createNamespace({ body: { metadata: { name: cp2 } } });
    await core().createNamespacedConfigMap({
      namespace: cp2,
      body: { metadata: { name: 'istio' }, data: { mesh } },
    });
    const root = await core().readNamespacedSecret({ namespace: cpns, name: 'istio-ca-secret' });
    await core().createNamespacedSecret({
      namespace: cp2,
      body: { metadata: { name: 'istio-ca-secret' }, type: root.type ?? '', data: root.data ?? {} },
    });
    const deadKubeconfig = join(work, 'dead-kubeconfig');
    writeFileSync(
      deadKubeconfig,
      readFileSync(env.kubeconfig, 'utf8').replace(
        env.server,
        `https://127.0.0.1:${String(await freePort())}`,
      ),
    );
    const secrets = await tokenSecrets();
    const dir = join(work, 'never');
    const cases: { name: string; args: string[]; code: number; message: RegExp }[] = [
      {
        name: 'an unknown namespace',
        args: ['-n', 'nope'],
        code: 1,
        message: /--namespace: namespace "nope" not found/,
      },
      {
        name: 'an unknown ServiceAccount',
        args: ['-s', 'ghost'],
        code: 1,
        message: new RegExp(
          `ServiceAccount "ghost" not found in namespace ${vmns}; create it with: kubectl create serviceaccount ghost -n ${vmns}`,
        ),
      },
      {
        name: 'a bad IP',
        args: ['--ip', '10.0.0'],
        code: 2,
        message: /--ip: "10\.0\.0" is not an IP address/,
      },
      {
        name: 'a bad CIDR',
        args: ['--service-cidr', '10.96.0.0/40'],
        code: 2,
        message: /--service-cidr: .*invalid prefix length/,
      },
      {
        name: 'an unknown group',
        args: ['--group', 'ghost'],
        code: 1,
        message: /--group: WorkloadGroup "ghost" not found/,
      },
      {
        name: 'no mesh-expansion Services and no flags',
        args: ['--control-plane-namespace', cp2],
        code: 1,
        message:
          /no address for Pilot: pass --pilot-address IP:PORT, or enable meshExpansion in the chart/,
      },
      {
        name: 'an unknown control-plane namespace',
        args: ['--control-plane-namespace', 'nowhere'],
        code: 1,
        message: /--control-plane-namespace: namespace "nowhere" not found/,
      },
      {
        name: 'no cluster',
        args: ['--kubeconfig', deadKubeconfig],
        code: 1,
        message: /cannot reach the cluster at https:\/\/127\.0\.0\.1:\d+/,
      },
      { name: 'a missing --output', args: ['-o', ''], code: 2, message: /--output is required/ },
    ];
    for (const c of cases) {
      const r = await run([...base(), '-o', dir, ...c.args]);
      assert.equal(r.code, c.code, `${c.name}: ${r.stderr}`);
      assert.match(r.stderr, c.message, c.name);
      assert.equal(existsSync(dir), false, `${c.name}: no folder`);
    }
    assert.deepEqual(await tokenSecrets(), secrets, 'no Secret');
    assert.deepEqual(await tokenSecrets(cp2), []);

    // A node name another VM has: its Secret stays, and nothing is written.
    const taken = await run([...base(), '-o', dir, '--node', 'again-2']);
    assert.equal(taken.code, 1);
    assert.match(
      taken.stderr,
      new RegExp(`--node: Secret ${cpns}/istio-vm-token-again-2 already exists`),
    );
    assert.equal(existsSync(dir), false);
  });

  it('deletes the Secret again when the files cannot be put in place', async () => {
    const dir = join(work, 'failing');
    const request = parseBundleRequest(
      parseOptions(vmBundleOptions, {
        'service-account': 'db',
        namespace: vmns,
        output: dir,
        'control-plane-namespace': cpns,
        node: 'failing-1',
      }),
    );
    let secretSeen = false;
    await assert.rejects(
      createVmBundle(env.kc, request, {
        writer: {
          async stage(d, files) {
            const staged = await fsBundleWriter.stage(d, files);
            return {
              discard: () => staged.discard(),
              async commit() {
                secretSeen = (await tokenSecrets()).includes('istio-vm-token-failing-1');
                await staged.discard();
                throw new Error('disk full');
              },
            };
          },
        },
      }),
      /disk full/,
    );
    assert.ok(secretSeen, 'the Secret existed before the files were put in place');
    assert.ok(!(await tokenSecrets()).includes('istio-vm-token-failing-1'), 'and is gone');
    assert.equal(existsSync(dir), false);
  });
});
