/**
 * A VM joins the mesh, for real on this machine: the "VM" is a network namespace joined to the
 * host by a veth pair (a private link only this test uses), with the control plane (the real CA
 * and Pilot on a real API server) on the host's end. What the VM runs is what `istio-lite vm
 * bundle` writes: its systemd units' command lines, with cluster.env substituted as systemd does
 * and the bundle's hosts lines as the namespace's /etc/hosts (`ip netns exec` mounts
 * /etc/netns/NAME/hosts there):
 *
 * - `istio-lite init` writes real iptables rules in the VM: service-CIDR traffic is captured, the
 *   control plane's is not;
 * - `istio-lite node-agent` gets the VM's certificate with the bundle's bootstrap token, then
 *   renews it over mTLS after the token is gone;
 * - `istio-lite agent sidecar` (Envoy replaced by an Envoy-like ADS client on the agent's socket)
 *   finds the VM's IP itself, serves the node agent's certificate over SDS, and relays Pilot: the
 *   VM's sidecar gets the Kubernetes services, and after `istio-lite register` a pod's sidecar gets
 *   the VM's endpoint with its labels and identity; `deregister` takes it away from both.
 *
 * Needs root, iproute2, iptables and python3 (npm test installs them: scripts/test-setup.sh).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api } from '@kubernetes/client-node';
import { EnvoyLikeClient } from '../../agent/testing/envoy-like-client.ts';
import { SdsTestClient, secretRequest } from '../../agent/testing/sds-client.ts';
import type { RunningCa } from '../../ca/run.ts';
import { main } from '../../cli/main.ts';
import { captureIo } from '../../cli/testing/capture-io.ts';
import { encodeAny } from '../../lib/xds/discovery-wire.ts';
import { anyToJson } from '../../lib/xds/json-view.ts';
import { TypeUrl } from '../../lib/xds/type-urls.ts';
import type { RunningPilot } from '../../pilot/run.ts';
import { parseClusterEnv } from '../../vm/cluster-env.ts';
import { VmPaths, units } from '../../vm/units.ts';
import { startCa } from '../cluster/ca-support.ts';
import { eventually } from '../cluster/eventually.ts';
import { useLocalCluster } from '../cluster/local-cluster.ts';
import { ensurePilotCrds } from '../cluster/pilot-crds.ts';
import { startKubePilot } from '../cluster/pilot-support.ts';

const peer = fileURLToPath(new URL('./capture-peer.py', import.meta.url));
const cliMain = fileURLToPath(new URL('../../cli/main.ts', import.meta.url));
const id = randomBytes(3).toString('hex');
const VM = `il-vm-${id}`;
const octet = 100 + ((randomBytes(1)[0] ?? 0) % 100);
const hostIp = `10.79.${String(octet)}.1`;
const vmIp = `10.79.${String(octet)}.2`;
const serviceCidr = '10.96.0.0/12';

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
const inVm = (cmd: string, args: string[]) => sh('ip', ['netns', 'exec', VM, cmd, ...args]);

function canRun(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  try {
    sh('iptables', ['--version']);
    sh('ip', ['-V']);
    sh('python3', ['--version']);
  } catch {
    return 'needs iptables, iproute2 and python3';
  }
  return undefined;
}

/** A unit's ExecStart as argv, `${VAR}`s from cluster.env and the VM's paths moved under `dir`. */
function execStart(
  unit: string,
  env: Readonly<Record<string, string>>,
  paths: Readonly<Record<string, string>>,
): string[] {
  const text = units.find((u) => u.name === unit)?.text ?? '';
  const line = /^ExecStart=(.*)$/m.exec(text)?.[1];
  assert.ok(line, `${unit} has an ExecStart`);
  return line.split(' ').map((word) => {
    let w = word.replace(/\$\{(\w+)\}/g, (_, k: string) => env[k] ?? '');
    for (const [from, to] of Object.entries(paths)) w = w.split(from).join(to);
    return w;
  });
}

describe('a VM in the mesh (network namespace, bundle, init, node agent, sidecar agent)', function () {
  this.timeout(120_000);
  const env = useLocalCluster({ namespacePrefix: 'vmns' });
  const procs: ChildProcess[] = [];
  const clients: EnvoyLikeClient[] = [];
  let work: string;
  let ca: RunningCa | undefined;
  let pilot: RunningPilot | undefined;
  let clusterEnv: Record<string, string>;
  let paths: Record<string, string>;
  const ns = () => env.namespace;
  const host = (svc: string) => `${svc}.${ns()}.svc.cluster.local`;

  before(async function () {
    // The "VM" is a network namespace with real iptables: root, iptables, iproute2 and python3;
    // npm test as root (as CI runs it) installs the packages and runs this suite.
    if (canRun() !== undefined) this.skip();
    work = mkdtempSync(join(tmpdir(), 'vm-netns-'));
    sh('ip', ['netns', 'add', VM]);
    sh('ip', ['link', 'add', `vh${id}`, 'type', 'veth', 'peer', 'name', `vv${id}`]);
    sh('ip', ['link', 'set', `vv${id}`, 'netns', VM]);
    sh('ip', ['addr', 'add', `${hostIp}/30`, 'dev', `vh${id}`]);
    sh('ip', ['link', 'set', `vh${id}`, 'up']);
    inVm('ip', ['addr', 'add', `${vmIp}/30`, 'dev', `vv${id}`]);
    inVm('ip', ['link', 'set', 'lo', 'up']);
    inVm('ip', ['link', 'set', `vv${id}`, 'up']);
    inVm('ip', ['route', 'add', 'default', 'via', hostIp]);

    const core = env.kc.makeApiClient(CoreV1Api);
    await ensurePilotCrds(env.kc);
    await core.createNamespacedServiceAccount({
      namespace: ns(),
      body: { metadata: { name: 'vm-sa' } },
    });
    await core.createNamespacedConfigMap({
      namespace: ns(),
      body: { metadata: { name: 'istio' }, data: { mesh: 'authPolicy: MUTUAL_TLS\n' } },
    });
    // A Kubernetes service the VM's sidecar must learn about.
    await core.createNamespacedService({
      namespace: ns(),
      body: {
        metadata: { name: 'web' },
        spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] },
      },
    });
    // The control plane, on the host's end of the link.
    ca = await startCa(env.kc, ns(), { 'grpc-host': hostIp });
    pilot = await startKubePilot(env.kc, 0, { xdsHost: hostIp });
  });

  after(async () => {
    for (const c of clients) c.close();
    for (const p of procs) p.kill('SIGKILL');
    await pilot?.close();
    await ca?.close();
    try {
      sh('ip', ['netns', 'del', VM]);
    } catch {
      // not created
    }
    rmSync(`/etc/netns/${VM}`, { recursive: true, force: true });
    if (work) rmSync(work, { recursive: true, force: true });
  });

  function spawnIn(args: string[], extraEnv: Record<string, string> = {}): ChildProcess {
    const p = spawn('ip', ['netns', 'exec', VM, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'warn', ...extraEnv },
    });
    p.stderr.on('data', (d: Buffer) => {
      if (process.env['LOG_LEVEL']) process.stderr.write(d);
    });
    procs.push(p);
    return p;
  }

  async function cli(...argv: string[]) {
    const io = captureIo();
    const code = await main([...argv, '--kubeconfig', env.kubeconfig], io);
    return { code, out: io.out(), err: io.err() };
  }

  it('istio-lite vm bundle writes what the VM needs, addressing the control plane by name', async () => {
    const bundle = join(work, 'bundle');
    const r = await cli(
      'vm',
      'bundle',
      '-s',
      'vm-sa',
      '-n',
      ns(),
      '-o',
      bundle,
      '--control-plane-namespace',
      ns(),
      '--pilot-address',
      `${hostIp}:${String(pilot!.xdsPort)}`,
      '--ca-address',
      `${hostIp}:${String(ca!.grpcPort)}`,
      '--service-cidr',
      serviceCidr,
    );
    assert.equal(r.code, 0, r.err);
    clusterEnv = parseClusterEnv(readFileSync(join(bundle, 'cluster.env'), 'utf8'));
    assert.equal(clusterEnv['ISTIO_SERVICE_CIDR'], serviceCidr);
    assert.equal(clusterEnv['PILOT_ADDRESS'], `istio-pilot.${ns()}.svc:${String(pilot!.xdsPort)}`);
    // The VM resolves the control plane's names through the bundle's hosts lines.
    mkdirSync(`/etc/netns/${VM}`, { recursive: true });
    writeFileSync(
      `/etc/netns/${VM}/hosts`,
      `127.0.0.1 localhost\n${readFileSync(join(bundle, 'hosts'), 'utf8')}`,
    );
    assert.match(
      inVm('getent', ['hosts', `istio-ca.${ns()}.svc`]),
      new RegExp(hostIp.replace(/\./g, '\\.')),
    );
    const certs = join(work, 'certs');
    const proxy = join(work, 'proxy');
    mkdirSync(proxy);
    paths = {
      [VmPaths.binary]: cliMain,
      [`${VmPaths.configDir}/`]: `${bundle}/`,
      [VmPaths.certDir]: certs,
      [`/run/${VmPaths.proxyRuntimeDir}`]: proxy,
    };
  });

  it('istio-lite init (the unit) captures service traffic and leaves the control plane alone', async () => {
    const argv = execStart('istio-lite-init.service', clusterEnv, paths);
    inVm(process.execPath, argv);
    const rules = inVm('iptables-save', ['-t', 'nat']);
    assert.ok(rules.includes(`-A ISTIO_OUTPUT -d ${serviceCidr} `), rules);
    assert.ok(!rules.includes(hostIp), 'the control plane is not captured');
    const listener = spawnIn(['python3', peer, 'capture', '15001']);
    await new Promise((resolve) => listener.stdout?.once('data', resolve));
    assert.equal(
      inVm('python3', [peer, 'connect', '10.96.0.50', '80']).trim(),
      'captured:15001:10.96.0.50:80',
    );
  });

  it('istio-lite node-agent (the unit) gets a certificate with the bootstrap token, then renews over mTLS', async () => {
    const argv = execStart('istio-lite-node-agent.service', clusterEnv, paths);
    spawnIn([process.execPath, ...argv, '--ttl', '8s', '--grace-period-ratio', '0.5']);
    const chain = join(paths[VmPaths.certDir]!, 'cert-chain.pem');
    const first = await eventually(() => new X509Certificate(readFileSync(chain)), {
      timeoutMs: 20_000,
    });
    assert.equal(first.subjectAltName, `URI:spiffe://cluster.local/ns/${ns()}/sa/vm-sa`);
    // The token is gone: the next certificate can only come through the current one.
    rmSync(join(work, 'bundle', 'istio-token'));
    await eventually(
      () => {
        const next = new X509Certificate(readFileSync(chain));
        assert.notEqual(next.serialNumber, first.serialNumber);
      },
      { timeoutMs: 20_000 },
    );
  });

  it('istio-lite agent sidecar (the unit) finds its IP, serves the certificate and relays Pilot', async () => {
    const argv = execStart('istio-lite-sidecar.service', clusterEnv, paths);
    const vmEnv = { ...clusterEnv };
    delete vmEnv['INSTANCE_IP'];
    spawnIn([process.execPath, ...argv, '--startEnvoy', 'false'], vmEnv);
    const proxy = paths[`/run/${VmPaths.proxyRuntimeDir}`]!;
    await eventually(
      () => {
        for (const f of ['XDS', 'SDS', 'envoy-rev0.json']) assert.ok(existsSync(join(proxy, f)), f);
      },
      { timeoutMs: 20_000 },
    );
    // Envoy would send the node its bootstrap names: the agent's identity for this VM, with the
    // address it found on the VM's interface.
    const bootstrap = JSON.parse(readFileSync(join(proxy, 'envoy-rev0.json'), 'utf8')) as {
      node: { id: string; metadata?: Record<string, unknown> };
    };
    assert.ok(bootstrap.node.id.startsWith(`sidecar~${vmIp}~`), bootstrap.node.id);
    const vmSidecar = new EnvoyLikeClient({
      target: `unix:${join(proxy, 'XDS')}`,
      nodeId: bootstrap.node.id,
      metadata: bootstrap.node.metadata ?? {},
    });
    vmSidecar.start();
    clients.push(vmSidecar);
    await eventually(
      () => {
        assert.ok(vmSidecar.config.get(TypeUrl.Cluster)?.includes(`outbound|80||${host('web')}`));
      },
      { timeoutMs: 20_000 },
    );
    // The agent said who it is: the VM's own address, found on its interface.
    const conn = pilot!.discovery
      .connections()
      .find((c) => c.proxy?.includes(`~${vmIp}~`) === true);
    assert.ok(conn, JSON.stringify(pilot!.discovery.connections()));
    // Envoy's certificate over SDS is the node agent's, for the VM's identity.
    const sds = new SdsTestClient(`unix:${join(proxy, 'SDS')}`);
    const { secrets } = await sds.fetch(secretRequest(['default'])).finally(() => {
      sds.close();
    });
    const leaf = new X509Certificate(secrets[0]?.tls?.chain ?? '');
    assert.equal(leaf.subjectAltName, `URI:spiffe://cluster.local/ns/${ns()}/sa/vm-sa`);
  });

  it('register makes the VM an endpoint a pod sees (labels, identity, mTLS); deregister takes it away', async () => {
    const r = await cli(
      'register',
      'vm-app',
      vmIp,
      'http:8080',
      '-l',
      'version=v1',
      '-s',
      'vm-sa',
      '-n',
      ns(),
    );
    assert.equal(r.code, 0, r.err);
    const pod = new EnvoyLikeClient({
      target: `${hostIp}:${String(pilot!.xdsPort)}`,
      nodeId: `sidecar~10.244.9.9~web-1.${ns()}~${ns()}.svc.cluster.local`,
    });
    pod.start();
    clients.push(pod);
    const cluster = `outbound|8080||${host('vm-app')}`;
    const endpointsOf = (c: EnvoyLikeClient) =>
      [...(c.resources.get(TypeUrl.ClusterLoadAssignment)?.values() ?? [])]
        .map((x) => JSON.stringify(anyToJson(encodeAny(x.typeUrl, x.value))))
        .filter((j) => j.includes(`"cluster_name":"${cluster}"`));
    await eventually(
      () => {
        const [cla] = endpointsOf(pod);
        assert.ok(cla?.includes(`"address":"${vmIp}"`) && cla.includes('"tlsMode":"istio"'), cla);
        const cds = [...(pod.resources.get(TypeUrl.Cluster)?.values() ?? [])]
          .map((x) => JSON.stringify(anyToJson(encodeAny(x.typeUrl, x.value))))
          .find((j) => j.includes(`"name":"${cluster}"`));
        assert.ok(cds?.includes(`spiffe://cluster.local/ns/${ns()}/sa/vm-sa`), cds);
      },
      { timeoutMs: 20_000 },
    );
    // The VM's own sidecar now serves the port inbound.
    const vmSidecar = clients[0]!;
    await eventually(
      () => {
        assert.ok(
          vmSidecar.config.get(TypeUrl.Cluster)?.some((n) => n.startsWith('inbound|8080|')),
        );
      },
      { timeoutMs: 20_000 },
    );

    const d = await cli('deregister', 'vm-app', vmIp, '-n', ns());
    assert.equal(d.code, 0, d.err);
    await eventually(
      () => {
        const [cla] = endpointsOf(pod);
        assert.ok(cla === undefined || !cla.includes(vmIp), cla);
        assert.ok(
          !vmSidecar.config.get(TypeUrl.Cluster)?.some((n) => n.startsWith('inbound|8080|')),
        );
      },
      { timeoutMs: 20_000 },
    );
  });
});
