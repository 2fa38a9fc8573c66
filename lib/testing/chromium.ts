/**
 * A real headless Chromium (the Debian package; `CHROMIUM` names another binary) driven over the
 * DevTools protocol with Node's own WebSocket: open a page, evaluate script in it, wait for a
 * condition, take a screenshot. Only what the dashboard's browser test needs; no puppeteer.
 * Chromium listens for DevTools on loopback, with a throwaway profile, and is killed on close.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env['CHROMIUM']) return env['CHROMIUM'];
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
      const p = join(dir, name);
      if (existsSync(p)) return p;
    }
  }
  return undefined;
}

interface Pending {
  resolve(v: Record<string, unknown>): void;
  reject(e: Error): void;
}

class Cdp {
  private readonly ws: WebSocket;
  private next = 1;
  private readonly pending = new Map<number, Pending>();

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.addEventListener('message', (ev: MessageEvent) => {
      const msg = JSON.parse(String(ev.data)) as {
        id?: number;
        result?: Record<string, unknown>;
        error?: { message: string };
      };
      if (msg.id === undefined) return; // an event
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.error) p?.reject(new Error(`DevTools: ${msg.error.message}`));
      else p?.resolve(msg.result ?? {});
    });
    ws.addEventListener('close', () => {
      for (const p of this.pending.values()) p.reject(new Error('DevTools connection closed'));
      this.pending.clear();
    });
  }

  static open(url: string): Promise<Cdp> {
    const ws = new WebSocket(url);
    return new Promise((resolve, reject) => {
      ws.addEventListener('open', () => {
        resolve(new Cdp(ws));
      });
      ws.addEventListener('error', () => {
        reject(new Error(`cannot connect to DevTools at ${url}`));
      });
    });
  }

  send(method: string, params: object = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
  }

  close(): void {
    this.ws.close();
  }
}

export interface Page {
  navigate(url: string): Promise<void>;
  /** The value of a script expression (awaited when it is a promise). */
  evaluate<T>(expression: string): Promise<T>;
  /** Waits until `expression` is truthy. */
  waitFor(expression: string, timeoutMs?: number): Promise<void>;
  /** A PNG of the whole page at `width` pixels wide. */
  screenshot(width: number): Promise<Buffer>;
}

export interface Chromium {
  newPage(width?: number, height?: number): Promise<Page>;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Chromium> {
  const bin = chromiumPath();
  if (bin === undefined) {
    throw new Error(
      'chromium not found: install the chromium package (npm test does: scripts/test-setup.sh) or set CHROMIUM',
    );
  }
  const profile = mkdtempSync(join(tmpdir(), 'il-chromium-'));
  const child: ChildProcess = spawn(
    bin,
    [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--no-first-run',
      '--no-default-browser-check',
      '--disable-extensions',
      '--disable-background-networking',
      '--remote-debugging-address=127.0.0.1',
      '--remote-debugging-port=0',
      `--user-data-dir=${profile}`,
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => {
      reject(new Error(`chromium did not start in 30 s:\n${err}`));
    }, 30_000);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`chromium exited (${String(code)}):\n${err}`));
    });
  });
  const cdp = await Cdp.open(url);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  return {
    async newPage(width = 1280, height = 900) {
      const { targetId } = (await cdp.send('Target.createTarget', { url: 'about:blank' })) as {
        targetId: string;
      };
      const { sessionId } = (await cdp.send('Target.attachToTarget', {
        targetId,
        flatten: true,
      })) as {
        sessionId: string;
      };
      const send = (m: string, p: object = {}) => cdp.send(m, p, sessionId);
      await send('Page.enable');
      const metrics = (w: number, h: number) =>
        send('Emulation.setDeviceMetricsOverride', {
          width: w,
          height: h,
          deviceScaleFactor: 1,
          mobile: false,
        });
      await metrics(width, height);
      const evaluate = async <T>(expression: string): Promise<T> => {
        const r = (await send('Runtime.evaluate', {
          expression,
          awaitPromise: true,
          returnByValue: true,
        })) as {
          result: { value?: T };
          exceptionDetails?: { text: string; exception?: { description?: string } };
        };
        if (r.exceptionDetails) {
          throw new Error(
            `in the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`,
          );
        }
        return r.result.value as T;
      };
      return {
        async navigate(target) {
          const r = (await send('Page.navigate', { url: target })) as { errorText?: string };
          if (r.errorText) throw new Error(`navigating to ${target}: ${r.errorText}`);
        },
        evaluate,
        async waitFor(expression, timeoutMs = 15_000) {
          const deadline = Date.now() + timeoutMs;
          for (;;) {
            if (await evaluate<boolean>(`Boolean(${expression})`).catch(() => false)) return;
            if (Date.now() > deadline)
              throw new Error(`page: ${expression} not true in ${String(timeoutMs)} ms`);
            await new Promise((r) => setTimeout(r, 100));
          }
        },
        async screenshot(w) {
          const h = await evaluate<number>('document.documentElement.scrollHeight');
          await metrics(w, Math.ceil(h));
          const { data } = (await send('Page.captureScreenshot', { format: 'png' })) as {
            data: string;
          };
          return Buffer.from(data, 'base64');
        },
      };
    },
    async close() {
      await cdp.send('Browser.close').catch(() => undefined);
      cdp.close();
      const killed = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killed);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
