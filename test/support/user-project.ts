import { copyFile, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defer } from './cleanup.js';

/** The repository's root, seen from `build/test/support`. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * A temporary project as a user has one, removed after the test: a `package.json` (ESM), every
 * package of this repository's `node_modules` linked into its own `node_modules` (but `exclude`),
 * and `nestjs-sharding` installed there as the built package: this repository's `package.json`,
 * whose ESM build (`dist/esm`) is the compiled `src` of `npm run build:test`. Its exports map, types included, is
 * the one users get.
 */
export async function userProject(
  prefix: string,
  { exclude = [] }: { exclude?: string[] } = {},
): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  defer(() => rm(root, { recursive: true, force: true }));
  await writeFile(join(root, 'package.json'), '{ "private": true, "type": "module" }\n');
  const installed = join(REPO_ROOT, 'node_modules');
  await mkdir(join(root, 'node_modules'));
  for (const name of await readdir(installed)) {
    if (name.startsWith('.') || exclude.includes(name)) continue;
    await symlink(join(installed, name), join(root, 'node_modules', name));
  }
  const ours = join(root, 'node_modules', 'nestjs-sharding');
  await mkdir(ours);
  await copyFile(join(REPO_ROOT, 'package.json'), join(ours, 'package.json'));
  // The ESM build (`dist/esm`, what `import` resolves to) is the compiled src of build:test.
  await mkdir(join(ours, 'dist'));
  await symlink(join(REPO_ROOT, 'build', 'src'), join(ours, 'dist', 'esm'));
  return root;
}
