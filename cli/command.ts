/**
 * The shape of a subcommand: its options, declared once (lib/config/options.ts: flag type,
 * default, env var, help, check), and a `run` that gets them parsed and returns the exit code.
 * cli/ stays thin: argv in, a call into the folders that do the work, and for servers a wait for
 * the signal that stops them (cli/serve.ts).
 */
import type { OptionValues, Options } from '../lib/config/options.ts';

export interface CommandIO {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly stdin: NodeJS.ReadableStream;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

export interface Command<O extends Options = Options> {
  readonly name: string;
  /** One line for the top-level help. */
  readonly summary: string;
  /** The usage line, without the program name: `kube-inject -f FILE [-o FILE]`. */
  readonly usage: string;
  /** The options; `--help` prints them. An unknown flag is a usage error. */
  readonly options: O;
  /** More help after the options (e.g. subcommands). */
  readonly notes?: string;
  /** Whether positional arguments are accepted (e.g. `local up`). */
  readonly allowPositionals?: boolean;
  /**
   * Runs with the parsed options (flag, else env var, else default); resolves to the exit code.
   * `given` names the options set on the command line, for commands whose options depend on a
   * subcommand (`agent wait` takes three of its own).
   */
  run(
    values: OptionValues<O>,
    positionals: readonly string[],
    io: CommandIO,
    given: ReadonlySet<string>,
  ): Promise<number>;
}

/** A command with its option types checked against its `run` (for the registry's list). */
export function defineCommand<O extends Options>(c: Command<O>): Command {
  return c;
}
