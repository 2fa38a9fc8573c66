/**
 * Writing a bundle so that a failure leaves none half-written: every file goes into a staging
 * folder inside DIR first (same file system), and only then are they renamed into place. Files
 * of an earlier bundle that are replaced (`--force`) are moved aside first and put back if a
 * rename fails; a DIR this run created is removed again when nothing ends up in it.
 */
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  rename,
  rm,
  rmdir,
  stat,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';

export interface BundleFile {
  readonly name: string;
  readonly content: string;
  readonly mode: number;
}

/** Files written but not yet in place: `commit` moves them in, `discard` forgets them. */
export interface StagedBundle {
  commit(): Promise<void>;
  discard(): Promise<void>;
}

export interface BundleWriter {
  stage(dir: string, files: readonly BundleFile[]): Promise<StagedBundle>;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** The names of `names` already in `dir` (none when it does not exist). */
export async function presentFiles(dir: string, names: readonly string[]): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return [];
  }
  return names.filter((n) => entries.includes(n));
}

export const fsBundleWriter: BundleWriter = {
  async stage(dir, files) {
    const created = !(await exists(dir));
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const removeDirIfCreated = async () => {
      if (created) await rmdir(dir).catch(() => undefined);
    };
    let staging: string | undefined;
    try {
      staging = await mkdtemp(join(dir, '.vm-bundle-'));
      for (const f of files) {
        const path = join(staging, f.name);
        await writeFile(path, f.content, { mode: f.mode });
        await chmod(path, f.mode); // whatever the umask
      }
    } catch (e) {
      if (staging !== undefined) await rm(staging, { recursive: true, force: true });
      await removeDirIfCreated();
      throw e;
    }
    const stagingDir = staging;
    const discard = async () => {
      await rm(stagingDir, { recursive: true, force: true });
      await removeDirIfCreated();
    };
    return {
      discard,
      async commit() {
        const aside = join(stagingDir, '.replaced');
        const moved: string[] = [];
        const replaced: string[] = [];
        try {
          for (const f of files) {
            const target = join(dir, f.name);
            // A folder in the way is never moved (its rename below fails instead).
            if ((await lstat(target).catch(() => undefined))?.isDirectory() === false) {
              await mkdir(aside, { recursive: true });
              await rename(target, join(aside, f.name));
              replaced.push(f.name);
            }
            await rename(join(stagingDir, f.name), target);
            moved.push(f.name);
          }
        } catch (e) {
          for (const name of moved) await rm(join(dir, name), { force: true });
          for (const name of replaced) {
            await rename(join(aside, name), join(dir, name)).catch(() => undefined);
          }
          await discard();
          throw e;
        }
        await rm(stagingDir, { recursive: true, force: true });
      },
    };
  },
};
