/**
 * `istio-lite analyze` on files before they are applied (no cluster): one finding per problem with
 * its stable code, object, file, field and fix; the exit code a CI job gates on; JSON output; the
 * threshold; and bad input. The cluster side (objects in the cluster, the injector's webhook
 * selector) is in e2e/cluster/analyze.test.ts.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { main } from './main.ts';
import { captureIo } from './testing/capture-io.ts';

const dir = fileURLToPath(new URL('../testdata/analyze/', import.meta.url));
const app = `${dir}app.yaml`;
const problems = `${dir}problems.yaml`;
const good = `${dir}good.yaml`;

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo(dir, {});
  const code = await main(['analyze', '--use-kube', 'false', ...argv], io);
  return { code, out: io.out(), err: io.err() };
}

interface Row {
  code: string;
  severity: string;
  kind: string;
  namespace: string;
  name: string;
  field: string | null;
  message: string;
  source: string;
}

describe('istio-lite analyze (files, no cluster)', function () {
  this.timeout(20_000);

  it('finds each problem with its code, object, field, file and fix, and exits 79', async () => {
    const r = await run(['-f', app, '-f', problems, '-n', 'shop']);
    assert.equal(r.code, 79, r.err);
    const lines = r.out.split('\n');
    const expect = [
      /^Error \[IL0102\] \(RouteRule shop\/reviews-canary\) \[.*problems\.yaml#1\] spec\.route\[1\]: no pod of reviews\.shop\.svc\.cluster\.local has labels version=v3$/,
      /^Error \[IL0103\] \(RouteRule shop\/reviews-split\) \[.*problems\.yaml#2\] spec\.route: route weights sum to 110, not 100$/,
      /^Error \[IL0001\] \(RouteRule shop\/typo\) \[.*problems\.yaml#3\] spec\.route\[0\]\.wieght: unknown field$/,
      /^Error \[IL0101\] \(DestinationPolicy shop\/ratings-lb\) .* spec\.destination: destination ratings\.shop\.svc\.cluster\.local is not a known service/,
      /^Error \[IL0201\] \(rule istio-system\/deny-admin\) .* spec\.match: .*unexpected character "="$/,
      /^Error \[IL0201\] \(rule istio-system\/count\) .* spec\.actions\[0\]\.handler: handler nosuch\.prometheus\.istio-system does not exist$/,
      /^Warning \[IL0202\] \(frobnicator istio-system\/x\) .* Mixer has no adapter or template of kind frobnicator$/,
      /^Warning \[IL0304\] \(Namespace shop\) .* metadata\.labels: both istio-injection=enabled and istio\.io\/rev=canary are set$/,
    ];
    for (const re of expect)
      assert.ok(
        lines.some((l) => re.test(l)),
        `${String(re)}\n${r.out}`,
      );
    // Every finding has a fix line right under it.
    const findings = lines.filter((l) => /^(Error|Warning|Info) \[IL\d{4}\]/.test(l));
    assert.equal(findings.length, 8, r.out);
    for (const f of findings) {
      assert.match(lines[lines.indexOf(f) + 1] ?? '', /^ {4}fix: \S/);
    }
    assert.match(
      r.out,
      /6 errors, 2 warnings, 0 infos \(namespace shop, files .*, no cluster\)\n$/,
    );
  });

  it('passes (exit 0) a rule that is fine against the workloads in the files', async () => {
    const r = await run(['-f', app, '-f', good]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^no problems found/);
  });

  it('prints JSON for tools, with the same codes', async () => {
    const r = await run(['-f', app, '-f', problems, '-o', 'json']);
    const rows = JSON.parse(r.out) as Row[];
    const canary = rows.find((x) => x.name === 'reviews-canary');
    assert.ok(canary, r.out);
    assert.deepEqual(
      [canary.code, canary.severity, canary.kind, canary.namespace, canary.field, canary.message],
      [
        'IL0102',
        'Error',
        'RouteRule',
        'shop',
        'spec.route[1]',
        'no pod of reviews.shop.svc.cluster.local has labels version=v3',
      ],
    );
    assert.equal(canary.source, `${problems}#1`);
    assert.ok(rows.every((x) => /^IL\d{4}$/.test(x.code)));
  });

  it('--failure-threshold Error passes warnings; Warning fails on them', async () => {
    const ns = `${dir}namespace-labels.yaml`;
    assert.equal((await run(['-f', ns])).code, 0);
    assert.equal((await run(['-f', ns, '--failure-threshold', 'Warning'])).code, 79);
  });

  it('refuses bad input clearly', async () => {
    const none = await run([]);
    assert.equal(none.code, 2);
    assert.match(none.err, /nothing to analyze: give files with -f/);
    const missing = await run(['-f', `${dir}nope.yaml`]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /-f .*nope\.yaml: ENOENT/);
    const help = captureIo();
    assert.equal(await main(['analyze', '--help'], help), 0);
    assert.match(help.out(), /IL0101/);
    assert.match(help.out(), /Exit status 79/);
  });
});
