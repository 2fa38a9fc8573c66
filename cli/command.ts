/**
 * The shape of a subcommand: its flags (node:util parseArgs options, strict: an unknown flag is a
 * usage error) and a `run` that returns the process exit code. cli/ stays thin: flags in, a call
 * into the folders that do the work.
 */
import type { ParseArgsOptionsConfig } from 'node:util';

export interface CommandIO {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly stdin: NodeJS.ReadableStream;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

export type FlagValues = Readonly<
  Record<string, string | boolean | string[] | boolean[] | undefined>
>;

export interface Command {
  readonly name: string;
  /** One line for the top-level help. */
  readonly summary: string;
  /** The usage line, without the program name: `kube-inject -f FILE [-o FILE]`. */
  readonly usage: string;
  /** Help text for the flags, printed by `--help`. */
  readonly help: string;
  readonly options: ParseArgsOptionsConfig;
  /** Whether positional arguments are accepted (e.g. `local up`). */
  readonly allowPositionals?: boolean;
  run(flags: FlagValues, positionals: readonly string[], io: CommandIO): Promise<number>;
}

export function flagString(flags: FlagValues, name: string): string | undefined {
  const v = flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function flagBool(flags: FlagValues, name: string): boolean {
  return flags[name] === true;
}
