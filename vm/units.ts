/**
 * The systemd units a VM runs, written into every bundle so it is self-contained:
 *
 *   istio-lite-init.service        oneshot (root): the capture rules, removed again on stop
 *   istio-lite-node-agent.service  the workload certificate from the CA, into /etc/certs, renewed
 *   istio-lite-sidecar.service     Envoy and its agent: SDS from /etc/certs, ADS to Pilot
 *
 * All read cluster.env (vm/cluster-env.ts) through EnvironmentFile; `${VAR}` on a command line is
 * exactly one argument, even when empty (MIXER_ADDRESS without Mixer). The node agent and the
 * sidecar run as istio-proxy (uid 1337), whose traffic the capture rules never redirect, so the
 * certificate requests and Envoy's own connections leave the VM directly. cli/vm-units.test.ts
 * parses every command line here with the real commands' option parsers.
 */

/** Where docs/vm.md puts the bundle's files on the VM. */
export const VmPaths = {
  binary: '/usr/local/bin/istio-lite',
  envoy: '/usr/local/bin/envoy',
  configDir: '/etc/istio-lite',
  clusterEnv: '/etc/istio-lite/cluster.env',
  rootCert: '/etc/istio-lite/root-cert.pem',
  token: '/etc/istio-lite/istio-token',
  certDir: '/etc/certs',
  /** RuntimeDirectory= of the sidecar: Envoy's bootstrap and the agent's sockets. */
  proxyRuntimeDir: 'istio-lite-proxy',
} as const;

/** The proxy's user; the capture rules skip its uid and gid. */
export const ProxyUser = { name: 'istio-proxy', uid: 1337 } as const;

export interface Unit {
  readonly name: string;
  readonly text: string;
}

const P = VmPaths;

function unit(sections: Readonly<Record<string, readonly string[]>>): string {
  return Object.entries(sections)
    .map(([name, lines]) => `[${name}]\n${lines.join('\n')}\n`)
    .join('\n');
}

const install = ['WantedBy=multi-user.target'];

const nodeAgentArgs = [
  '--ca-address ${CA_ADDRESS}',
  '--ca-server-name ${CA_SERVER_NAME}',
  `--root-cert ${P.rootCert}`,
  `--token-file ${P.token}`,
  '--namespace ${POD_NAMESPACE}',
  '--service-account ${SERVICE_ACCOUNT}',
  '--trust-domain ${TRUST_DOMAIN}',
  `--cert-dir ${P.certDir}`,
].join(' ');

const sidecarArgs = [
  '--discoveryAddress ${PILOT_ADDRESS}',
  '--mixerAddress ${MIXER_ADDRESS}',
  `--certsDir ${P.certDir}`,
  '--trustDomain ${TRUST_DOMAIN}',
  `--configPath /run/${P.proxyRuntimeDir}`,
  `--binaryPath ${P.envoy}`,
].join(' ');

export const units: readonly Unit[] = [
  {
    name: 'istio-lite-init.service',
    text: unit({
      Unit: [
        'Description=istio-lite traffic capture: iptables rules sending the VM traffic through Envoy',
        'Wants=network-online.target',
        'After=network-online.target',
      ],
      Service: [
        'Type=oneshot',
        'RemainAfterExit=yes',
        `EnvironmentFile=${P.clusterEnv}`,
        `ExecStart=${P.binary} init -i \${ISTIO_SERVICE_CIDR} -b \${ISTIO_INBOUND_PORTS} -d \${ISTIO_LOCAL_EXCLUDE_PORTS} -u ${String(ProxyUser.uid)} -g ${String(ProxyUser.uid)}`,
        `ExecStop=${P.binary} init clean`,
      ],
      Install: install,
    }),
  },
  {
    name: 'istio-lite-node-agent.service',
    text: unit({
      Unit: [
        "Description=istio-lite node agent: the VM's workload certificate from the mesh CA",
        'Wants=network-online.target',
        'After=network-online.target',
      ],
      Service: [
        `User=${ProxyUser.name}`,
        `Group=${ProxyUser.name}`,
        `EnvironmentFile=${P.clusterEnv}`,
        `ExecStart=${P.binary} node-agent ${nodeAgentArgs}`,
        'Restart=on-failure',
        'RestartSec=10s',
      ],
      Install: install,
    }),
  },
  {
    name: 'istio-lite-sidecar.service',
    text: unit({
      Unit: [
        'Description=istio-lite sidecar: Envoy and its agent (certificates, Pilot, probes, Mixer)',
        'Wants=network-online.target',
        'After=network-online.target istio-lite-init.service istio-lite-node-agent.service',
        'Requires=istio-lite-init.service istio-lite-node-agent.service',
      ],
      Service: [
        `User=${ProxyUser.name}`,
        `Group=${ProxyUser.name}`,
        `EnvironmentFile=${P.clusterEnv}`,
        `RuntimeDirectory=${P.proxyRuntimeDir}`,
        `ExecStart=${P.binary} agent sidecar ${sidecarArgs}`,
        'Restart=always',
        'RestartSec=5s',
        // Envoy drains for 45 s on SIGTERM, then gets a minute to exit (agent defaults).
        'TimeoutStopSec=120s',
        'LimitNOFILE=1048576',
      ],
      Install: install,
    }),
  },
];
