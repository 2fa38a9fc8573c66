import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiException } from '@kubernetes/client-node';
import { ErrorCode, isIstioLiteError } from '../errors.ts';
import {
  apiErrorCode,
  apiErrorReason,
  describeApiError,
  ensureNoProxy,
  isRetryLater,
  isAlreadyExists,
  isConflict,
  isNotFound,
  loadKubeConfig,
} from './client.ts';

const status = (code: number, reason: string) =>
  new ApiException<string>(code, 'failed', JSON.stringify({ kind: 'Status', code, reason }), {});

describe('Kubernetes API error helpers', () => {
  const cases: {
    name: string;
    e: unknown;
    code: number | undefined;
    notFound: boolean;
    conflict: boolean;
    exists: boolean;
  }[] = [
    {
      name: '404 NotFound',
      e: status(404, 'NotFound'),
      code: 404,
      notFound: true,
      conflict: false,
      exists: false,
    },
    {
      name: '409 Conflict',
      e: status(409, 'Conflict'),
      code: 409,
      notFound: false,
      conflict: true,
      exists: false,
    },
    {
      name: '409 AlreadyExists',
      e: status(409, 'AlreadyExists'),
      code: 409,
      notFound: false,
      conflict: false,
      exists: true,
    },
    {
      name: '409 with an unparsable body',
      e: new ApiException(409, 'x', '<html>', {}),
      code: 409,
      notFound: false,
      conflict: true,
      exists: false,
    },
    {
      name: 'a watch error (statusCode)',
      e: Object.assign(new Error('Gone'), { statusCode: 410 }),
      code: 410,
      notFound: false,
      conflict: false,
      exists: false,
    },
    {
      name: 'a plain error',
      e: new Error('ECONNREFUSED'),
      code: undefined,
      notFound: false,
      conflict: false,
      exists: false,
    },
    {
      name: 'not an error',
      e: 'boom',
      code: undefined,
      notFound: false,
      conflict: false,
      exists: false,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(apiErrorCode(c.e), c.code);
      assert.equal(isNotFound(c.e), c.notFound);
      assert.equal(isConflict(c.e), c.conflict);
      assert.equal(isAlreadyExists(c.e), c.exists);
    });
  }

  it('reads the reason from a body that is already an object', () => {
    assert.equal(
      apiErrorReason(new ApiException(404, 'x', { reason: 'NotFound' }, {})),
      'NotFound',
    );
  });

  it('describes a failed call in one short line, without the headers client-node puts in its message', () => {
    const body = JSON.stringify({
      kind: 'Status',
      code: 429,
      reason: 'TooManyRequests',
      message: 'storage is (re)initializing',
    });
    const e = new ApiException(429, 'Unknown API Status Code!', body, {
      'retry-after': '1',
      'content-type': 'application/json',
    });
    assert.match(e.message, /Headers/);
    assert.equal(describeApiError(e), 'HTTP 429 TooManyRequests: storage is (re)initializing');
    assert.equal(isRetryLater(e), true);
    assert.equal(describeApiError(new ApiException(502, 'x', '', {})), 'HTTP 502');
    assert.equal(isRetryLater(new ApiException(502, 'x', '', {})), false);
    assert.equal(describeApiError(new Error('socket hang up')), 'socket hang up');
  });
});

describe('ensureNoProxy', () => {
  it('adds loopback to NO_PROXY and no_proxy, keeping what is there, once', () => {
    const env: NodeJS.ProcessEnv = { no_proxy: 'example.com, 127.0.0.1' };
    assert.equal(ensureNoProxy(env), 'example.com,127.0.0.1,localhost,::1');
    assert.equal(env['NO_PROXY'], env['no_proxy']);
    assert.equal(ensureNoProxy(env), 'example.com,127.0.0.1,localhost,::1');
  });
});

describe('loadKubeConfig', () => {
  let dir: string;
  const config = (server: string, current = 'c') => `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: '${server}' } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: c, context: { cluster: c, user: u } }]
current-context: ${current}
`;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
    writeFileSync(join(dir, 'a'), config('https://127.0.0.1:1111'));
    writeFileSync(join(dir, 'b'), config('https://127.0.0.1:2222'));
    writeFileSync(join(dir, 'none'), config('https://127.0.0.1:3333', 'missing'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('prefers the explicit path over KUBECONFIG', () => {
    const kc = loadKubeConfig(join(dir, 'a'), { env: { KUBECONFIG: join(dir, 'b') } });
    assert.equal(kc.getCurrentCluster()?.server, 'https://127.0.0.1:1111');
  });

  it('reads KUBECONFIG when no path is given', () => {
    const kc = loadKubeConfig(undefined, { env: { KUBECONFIG: join(dir, 'b') } });
    assert.equal(kc.getCurrentCluster()?.server, 'https://127.0.0.1:2222');
  });

  it('puts loopback in NO_PROXY', () => {
    loadKubeConfig(join(dir, 'a'));
    assert.match(process.env['NO_PROXY'] ?? '', /(^|,)127\.0\.0\.1(,|$)/);
  });

  it('fails with INVALID_CONFIG on a missing file or no current cluster', () => {
    for (const p of [join(dir, 'missing'), join(dir, 'none')]) {
      assert.throws(
        () => loadKubeConfig(p),
        (e) => isIstioLiteError(e) && e.code === ErrorCode.InvalidConfig,
        p,
      );
    }
  });
});
