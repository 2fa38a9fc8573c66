import assert from 'node:assert/strict';
import { pino } from 'pino';
import { LazySecretSource } from './lazy-secrets.ts';
import type { NamedSecretSource, TlsSecret } from './named-secrets.ts';

const logger = pino({ level: 'silent' });

/** A named-secret source whose secrets the test sets, recording what it was asked for. */
class FakeSource implements NamedSecretSource {
  readonly secrets = new Map<string, TlsSecret>();
  readonly asked: string[] = [];
  private readonly listeners: ((name: string) => void)[] = [];
  closed = false;

  handles(name: string): boolean {
    return name.startsWith('kubernetes://');
  }

  get(name: string): TlsSecret | undefined {
    this.asked.push(name);
    return this.secrets.get(name);
  }

  onChange(l: (name: string) => void): void {
    this.listeners.push(l);
  }

  set(name: string, s: TlsSecret): void {
    this.secrets.set(name, s);
    for (const l of this.listeners) l(name);
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

const tls: TlsSecret = { chainPem: 'chain', keyPem: 'key' };
const tick = () => new Promise((r) => setImmediate(r));

describe('agent/sds LazySecretSource', () => {
  function lazy(fake: FakeSource) {
    let loads = 0;
    const l = new LazySecretSource({
      handles: (n) => n.startsWith('kubernetes://'),
      logger,
      load: () => {
        loads++;
        return Promise.resolve(fake);
      },
    });
    return { l, loads: () => loads };
  }

  it('loads nothing until a name is asked for, and once for many', async () => {
    const fake = new FakeSource();
    const { l, loads } = lazy(fake);
    assert.equal(l.handles('kubernetes://shop/tls'), true);
    assert.equal(l.handles('default'), false);
    await tick();
    assert.equal(loads(), 0, 'handles() alone loads nothing');
    assert.equal(l.get('kubernetes://shop/a'), undefined);
    assert.equal(l.get('kubernetes://shop/b'), undefined);
    await tick();
    assert.equal(loads(), 1);
    assert.equal(l.loaded, true);
    assert.deepEqual(
      fake.asked,
      ['kubernetes://shop/a', 'kubernetes://shop/b'],
      'names asked meanwhile are watched',
    );
  });

  it('passes changes on, including a secret already there when it loads', async () => {
    const fake = new FakeSource();
    fake.secrets.set('kubernetes://shop/a', tls);
    const { l } = lazy(fake);
    const changed: string[] = [];
    l.onChange((n) => changed.push(n));
    assert.equal(l.get('kubernetes://shop/a'), undefined, 'not loaded yet');
    await tick();
    assert.deepEqual(changed, ['kubernetes://shop/a'], 'SDS learns it is there');
    assert.deepEqual(l.get('kubernetes://shop/a'), tls);
    fake.set('kubernetes://shop/b', tls);
    assert.deepEqual(changed, ['kubernetes://shop/a', 'kubernetes://shop/b']);
  });

  it('closes the loaded source; one that loads after close is closed at once', async () => {
    const a = new FakeSource();
    const first = lazy(a).l;
    first.get('kubernetes://shop/a');
    await tick();
    await first.close();
    assert.equal(a.closed, true);

    const b = new FakeSource();
    const second = lazy(b).l;
    second.get('kubernetes://shop/a');
    await second.close();
    assert.equal(b.closed, true);
    assert.equal(second.loaded, false);
  });

  it('a load that fails leaves the names unserved and is tried again on the next request', async () => {
    const fake = new FakeSource();
    let fail = true;
    const l = new LazySecretSource({
      handles: () => true,
      logger,
      load: () => (fail ? Promise.reject(new Error('no kubeconfig')) : Promise.resolve(fake)),
    });
    assert.equal(l.get('kubernetes://shop/a'), undefined);
    await tick();
    assert.equal(l.loaded, false);
    fail = false;
    assert.equal(l.get('kubernetes://shop/a'), undefined);
    await tick();
    assert.equal(l.loaded, true);
    assert.deepEqual(fake.asked, ['kubernetes://shop/a']);
    await l.close();
  });
});
