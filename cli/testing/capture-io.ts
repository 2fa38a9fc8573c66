/** A CommandIO whose output is kept, for running `main` in-process in tests. */
import { PassThrough } from 'node:stream';
import type { CommandIO } from '../command.ts';

export interface CapturedIO extends CommandIO {
  out(): string;
  err(): string;
}

export function captureIo(
  cwd: string = process.cwd(),
  env: NodeJS.ProcessEnv = process.env,
): CapturedIO {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let o = '';
  let e = '';
  stdout.on('data', (d: Buffer) => (o += d.toString()));
  stderr.on('data', (d: Buffer) => (e += d.toString()));
  return { stdout, stderr, stdin: new PassThrough(), env, cwd, out: () => o, err: () => e };
}
