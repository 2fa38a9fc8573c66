#!/usr/bin/env node
/**
 * `istio-lite`: the one command. Parses the subcommand and its flags and hands over; unknown
 * subcommands and flags are usage errors (exit 2) with the usage line.
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { realpathSync } from 'node:fs';
import { optionsHelp, parseArgsConfig, parseOptions } from '../lib/config/options.ts';
import { errorMessage, isIstioLiteError, ErrorCode } from '../lib/errors.ts';
import type { Command, CommandIO } from './command.ts';
import { commands } from './registry.ts';

const program = 'istio-lite';

async function topHelp(): Promise<string> {
  const all = await Promise.all(commands.map((c) => c.load()));
  const width = Math.max(...all.map((c) => c.name.length));
  const lines = all.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    `${program}: Istio 0.2's sidecar injection and control plane, for today's Kubernetes.`,
    '',
    `Usage: ${program} <command> [flags]`,
    '',
    'Commands:',
    ...lines,
    '',
    `Run '${program} <command> --help' for a command's flags.`,
    '',
  ].join('\n');
}

function commandHelp(c: Command): string {
  const flags = optionsHelp(c.options);
  const notes = c.notes === undefined ? '' : `\n${c.notes}\n`;
  return `Usage: ${program} ${c.usage}\n\n${c.summary}\n\nFlags:\n${flags === '' ? '' : `${flags}\n`}  -h, --help  show this help\n${notes}`;
}

function usageError(io: CommandIO, message: string, usage: string): number {
  io.stderr.write(`${program}: ${message}\nUsage: ${program} ${usage}\n`);
  return 2;
}

export async function main(argv: readonly string[], io: CommandIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(await topHelp());
    return name === undefined ? 2 : 0;
  }
  const entry = commands.find((c) => c.name === name);
  if (entry === undefined) {
    return usageError(io, `unknown command "${name}"`, '<command> [flags] (see --help)');
  }
  const cmd = await entry.load();
  let parsed;
  try {
    parsed = parseArgs({
      args: [...rest],
      options: { ...parseArgsConfig(cmd.options), help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: cmd.allowPositionals ?? false,
    });
  } catch (e) {
    return usageError(io, errorMessage(e), cmd.usage);
  }
  if (parsed.values['help'] === true) {
    io.stdout.write(commandHelp(cmd));
    return 0;
  }
  try {
    const flags: Record<string, string | boolean | (string | boolean)[] | undefined> = {
      ...parsed.values,
    };
    delete flags['help'];
    const values = parseOptions(cmd.options, flags, io.env);
    const given = new Set(Object.keys(flags).filter((k) => flags[k] !== undefined));
    return await cmd.run(values, parsed.positionals, io, given);
  } catch (e) {
    if (isIstioLiteError(e) && e.code === ErrorCode.Usage) {
      return usageError(io, e.message, cmd.usage);
    }
    io.stderr.write(`${program} ${cmd.name}: ${errorMessage(e)}\n`);
    return 1;
  }
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return pathToFileURL(realpathSync(entry)).href === import.meta.url;
  } catch {
    return false;
  }
}

/** Runs the command line of this process (argv, stdio, env, cwd); resolves to the exit code. */
export async function runFromCommandLine(): Promise<number> {
  const io: CommandIO = {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
  };
  try {
    return await main(process.argv.slice(2), io);
  } catch (e) {
    process.stderr.write(`${program}: ${errorMessage(e)}\n`);
    return 1;
  }
}

// `node cli/main.ts …` (npm scripts) and `node dist/cli/main.js …` (the images); bin/istio-lite.js
// (npx) calls runFromCommandLine itself.
if (isEntryPoint()) {
  void runFromCommandLine().then((code) => {
    process.exitCode = code;
  });
}
