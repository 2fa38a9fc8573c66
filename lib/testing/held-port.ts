/**
 * A loopback port held by another server for a whole mocha suite, for tests of a service that
 * finds its port taken: `const held = holdPort(); … held.port`.
 */
import { createServer } from 'node:net';
import { listenOn } from '../listen.ts';

export function holdPort(): { readonly port: number } {
  const holder = createServer();
  let port: number | undefined;
  before(async () => {
    port = await listenOn(holder, 0, '127.0.0.1');
  });
  after(async () => {
    await new Promise((r) => holder.close(r));
  });
  return {
    get port(): number {
      if (port === undefined) throw new Error('holdPort(): read the port inside it() or a hook');
      return port;
    },
  };
}
