/**
 * Applying the capture rules with the real iptables: read the nat table (`iptables-save -t nat`),
 * compute the next one, write it with `iptables-restore` in one transaction.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { ErrorCode, IstioLiteError, errorMessage } from '../../lib/errors.ts';
import type { CaptureOptions } from './options.ts';
import { nextNatTable } from './rules.ts';

export interface IptablesCommands {
  readonly save: string;
  readonly restore: string;
}

export const defaultCommands: IptablesCommands = {
  save: 'iptables-save',
  restore: 'iptables-restore',
};

async function currentNat(cmds: IptablesCommands): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)(cmds.save, ['-t', 'nat']);
    return stdout;
  } catch (e) {
    throw new IstioLiteError(ErrorCode.External, `${cmds.save} -t nat failed: ${errorMessage(e)}`, {
      cause: e,
    });
  }
}

function restore(cmds: IptablesCommands, input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmds.restore, [], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', (e) => {
      reject(new IstioLiteError(ErrorCode.External, `${cmds.restore}: ${e.message}`, { cause: e }));
    });
    p.on('exit', (code) => {
      if (code === 0) resolve();
      else
        reject(
          new IstioLiteError(
            ErrorCode.External,
            `${cmds.restore} failed (exit ${String(code)}): ${stderr.trim()}`,
          ),
        );
    });
    p.stdin.end(input);
  });
}

/** Writes the capture rules (replacing ours, keeping others'); returns what was applied. */
export async function applyCapture(o: CaptureOptions, cmds = defaultCommands): Promise<string> {
  const next = nextNatTable(await currentNat(cmds), o);
  await restore(cmds, next);
  return next;
}

/** Removes our chains and jumps, keeping everything else. */
export async function cleanCapture(cmds = defaultCommands): Promise<void> {
  await restore(cmds, nextNatTable(await currentNat(cmds), undefined));
}
