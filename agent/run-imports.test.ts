import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

/**
 * A sidecar's memory is mostly what it loads: the Kubernetes client alone is about 70 MB of RSS,
 * and only gateways (router mode, Ingress TLS Secrets) need it. Loads the agent's modules
 * in a fresh process with a load hook and lists the packages that came in. (Router mode imports it
 * when Envoy first asks for a `kubernetes://` Secret: agent/sds/lazy-secrets.ts, tested with a real
 * API server in e2e/cluster/agent-sds-kube.test.ts.)
 */
function packagesLoadedBy(entry: string): string[] {
  const script = `
    import { registerHooks } from 'node:module';
    const seen = new Set();
    registerHooks({
      load(url, context, next) {
        const m = /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(url);
        if (m) seen.add(m[1]);
        return next(url, context);
      },
    });
    await import(${JSON.stringify(entry)});
    process.stdout.write(JSON.stringify([...seen].sort()));
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
  const parsed: unknown = JSON.parse(out);
  assert.ok(Array.isArray(parsed));
  return parsed.map(String);
}

describe('agent: what a sidecar loads', function () {
  this.timeout(30_000);

  it('the agent does not load the Kubernetes client', () => {
    const loaded = packagesLoadedBy(new URL('./run.ts', import.meta.url).href);
    assert.ok(loaded.includes('@grpc/grpc-js'), 'the hook saw its packages');
    assert.ok(
      !loaded.includes('@kubernetes/client-node'),
      `agent/run.ts loads @kubernetes/client-node: ${loaded.join(', ')}`,
    );
  });

  it("the agent loads OpenTelemetry's SDK only when tracing is on (lib/tracing loads it lazily)", () => {
    const loaded = packagesLoadedBy(new URL('./run.ts', import.meta.url).href);
    const otel = loaded.filter(
      (p) => p.startsWith('@opentelemetry/') && p !== '@opentelemetry/api',
    );
    assert.deepEqual(otel, [], `agent/run.ts loads ${otel.join(', ')}`);
    const traced = packagesLoadedBy(new URL('../lib/tracing/otel-tracer.ts', import.meta.url).href);
    assert.ok(traced.includes('@opentelemetry/sdk-trace'), 'the hook sees the SDK when it loads');
  });
});
