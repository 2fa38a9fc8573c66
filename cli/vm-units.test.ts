/**
 * Every command line of the VM's systemd units (vm/units.ts) goes through the real command's
 * option parser, with `${VAR}`s filled in from a bundle's cluster.env the way systemd fills them
 * in: a renamed or removed flag, or a value the command refuses, fails here.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseCaptureFlags } from '../agent/capture/options.ts';
import { agentOptions, agentSettings } from '../agent/settings.ts';
import { parseNodeAgentConfig, nodeAgentOptions } from '../ca/node-agent/settings.ts';
import { parseArgsConfig, parseOptions } from '../lib/config/options.ts';
import { parseClusterEnv, renderClusterEnv, type ClusterEnv } from '../vm/cluster-env.ts';
import { units, VmPaths } from '../vm/units.ts';
import { commands } from './registry.ts';

const rootPem = `-----BEGIN CERTIFICATE-----
MIIBVzCB/qADAgECAhRmZ1c0tHtGwVZ7fL8Np3eJvLpZ3DAKBggqhkjOPQQDAjAO
MQwwCgYDVQQDDANhYmMwHhcNMjUwMTAxMDAwMDAwWhcNMzUwMTAxMDAwMDAwWjAO
-----END CERTIFICATE-----
`;

/** systemd's expansion: `${VAR}` as a whole word is exactly one argument (empty included). */
function systemdArgv(line: string, env: Readonly<Record<string, string>>): string[] {
  return line
    .trim()
    .split(/\s+/)
    .map((word) => {
      assert.doesNotMatch(word, /\$[A-Za-z_]/, `unbraced variable in "${word}" would be split`);
      return word.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
        const v = env[name];
        assert.ok(v !== undefined, `\${${name}} is not in cluster.env`);
        return v;
      });
    });
}

/** The Exec lines of a unit: `ExecStart=…` → its command line. */
function execLines(text: string): { key: string; line: string }[] {
  return text
    .split('\n')
    .map((l) => /^(Exec[A-Za-z]+)=(.*)$/.exec(l))
    .filter((m) => m !== null)
    .map((m) => ({ key: m[1] ?? '', line: m[2] ?? '' }));
}

/** As cli/main.ts does: strict parseArgs of the command's table, then its values. */
async function parseCommand(argv: readonly string[], env: NodeJS.ProcessEnv) {
  const [bin, name, ...rest] = argv;
  assert.equal(bin, VmPaths.binary);
  const entry = commands.find((c) => c.name === name);
  assert.ok(entry, `istio-lite has no command "${String(name)}"`);
  const cmd = await entry.load();
  const parsed = parseArgs({
    args: rest,
    options: parseArgsConfig(cmd.options),
    strict: true,
    allowPositionals: cmd.allowPositionals ?? false,
  });
  const values = parseOptions(cmd.options, parsed.values, env);
  return { name: name ?? '', values, positionals: parsed.positionals, flags: parsed.values };
}

const base: ClusterEnv = {
  ISTIO_SERVICE_CIDR: '10.96.0.0/12,fd00:10:96::/108',
  ISTIO_INBOUND_PORTS: '*',
  ISTIO_LOCAL_EXCLUDE_PORTS: '22,15020,15021,15090',
  PILOT_ADDRESS: 'istio-pilot.istio-system.svc:31010',
  MIXER_ADDRESS: 'istio-mixer.istio-system.svc:9091',
  CA_ADDRESS: 'istio-ca.istio-system.svc:8060',
  CA_SERVER_NAME: 'istio-ca.istio-system.svc',
  POD_NAMESPACE: 'legacy',
  SERVICE_ACCOUNT: 'db',
  TRUST_DOMAIN: 'example.org',
  ISTIO_META_AUTO_REGISTER_GROUP: 'db',
  INSTANCE_IP: '10.0.0.7',
};

describe('VM systemd units against the real commands', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'vm-units-'));
    writeFileSync(join(dir, 'root-cert.pem'), rootPem);
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const samples: { name: string; env: ClusterEnv }[] = [
    { name: 'with Mixer, a group and an IP', env: base },
    { name: 'without Mixer (MIXER_ADDRESS empty)', env: { ...base, MIXER_ADDRESS: '' } },
  ];
  for (const sample of samples) {
    it(`every Exec line parses, ${sample.name}`, async () => {
      // Through the file, as systemd gets it.
      const env = parseClusterEnv(renderClusterEnv(sample.env, ['a sample']));
      let checked = 0;
      for (const unit of units) {
        for (const { key, line } of execLines(unit.text)) {
          // Files the bundle puts in /etc/istio-lite are read from a copy here.
          const argv = systemdArgv(line, env).map((a) =>
            a.startsWith(`${VmPaths.configDir}/`)
              ? join(dir, a.slice(VmPaths.configDir.length + 1))
              : a,
          );
          const where = `${unit.name} ${key}`;
          const cmd = await parseCommand(argv, { ...env });
          checked++;
          if (cmd.name === 'init') {
            const sub = cmd.positionals[0];
            assert.ok(sub === undefined || sub === 'clean', where);
            const f = (k: string) => {
              const v = cmd.flags[k];
              return typeof v === 'string' ? v : undefined;
            };
            const o = parseCaptureFlags({
              i: f('include-outbound-cidrs'),
              b: f('include-inbound-ports'),
              d: f('exclude-inbound-ports'),
              u: f('proxy-uid'),
              g: f('proxy-gid'),
            });
            if (sub === undefined) {
              assert.deepEqual(
                o.includeOutboundCidrs,
                sample.env.ISTIO_SERVICE_CIDR.split(','),
                where,
              );
              assert.deepEqual(o.excludeInboundPorts, [22, 15020, 15021, 15090], where);
              assert.equal(o.includeInboundPorts, '*', where);
              assert.equal(o.proxyUid, 1337, where);
            }
          } else if (cmd.name === 'node-agent') {
            const c = await parseNodeAgentConfig(parseOptions(nodeAgentOptions, cmd.flags, env));
            assert.equal(c.caAddress, sample.env.CA_ADDRESS, where);
            assert.equal(c.serverName, sample.env.CA_SERVER_NAME, where);
            assert.equal(c.identity, 'spiffe://example.org/ns/legacy/sa/db', where);
            assert.equal(c.certDir, VmPaths.certDir, where);
            assert.equal(c.rootCertPem, rootPem, where);
            assert.equal(c.tokenFile, join(dir, 'istio-token'), where);
            assert.equal(c.once, false, where);
          } else if (cmd.name === 'agent') {
            assert.deepEqual(cmd.positionals, ['sidecar'], where);
            const c = agentSettings('sidecar', parseOptions(agentOptions, cmd.flags), {
              ...env,
              POD_NAME: 'vm-1', // the agent may take the host name instead
            });
            assert.equal(c.discoveryAddress, sample.env.PILOT_ADDRESS, where);
            const mixer = sample.env.MIXER_ADDRESS;
            assert.equal(c.mixerAddress, mixer === '' ? undefined : mixer, where);
            assert.equal(c.certsDir, VmPaths.certDir, where);
            assert.equal(c.caAddress, undefined, 'certificates from the node agent’s files');
            assert.equal(c.trustDomain, 'example.org', where);
            assert.equal(c.pod.namespace, 'legacy', where);
            assert.equal(c.pod.serviceAccount, 'db', where);
            assert.equal(c.pod.ip, '10.0.0.7', where);
            assert.equal(c.extraMetadata['AUTO_REGISTER_GROUP'], 'db', where);
          } else {
            assert.fail(`${where}: unexpected command ${cmd.name}`);
          }
        }
      }
      assert.equal(checked, 4, 'init, init clean, node-agent, agent sidecar');
    });
  }

  it('a renamed flag fails', async () => {
    const env = parseClusterEnv(renderClusterEnv(base));
    const line = `${VmPaths.binary} agent sidecar --discoveryAddr \${PILOT_ADDRESS}`;
    await assert.rejects(
      parseCommand(systemdArgv(line, env), env),
      /Unknown option '--discoveryAddr'/,
    );
  });
});
