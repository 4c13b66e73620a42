// The packed package as users get it: `npm pack`, then fresh projects that install the tarball
// and their own tools from the registry, build, type-check and boot a fleet in their own tests.
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, afterEach, before, describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cleanUp } from './support/cleanup.js';
import { outputTail, runCommand, type CommandResult } from './support/commands.js';

afterEach(cleanUp);

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixtures = join(root, 'test', 'user-projects');

/**
 * The environment of a user project's commands: this project's Node.js first on PATH (the one
 * the suite runs on), without the npm script and test runner variables of the suite's own run.
 */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    // NODE_TEST_CONTEXT would make the project's own `node --test` think it runs inside ours.
    if (!/^(npm_package_|npm_lifecycle_|NODE_OPTIONS$|NODE_TEST_CONTEXT$)/.test(name)) {
      env[name] = value;
    }
  }
  env.PATH = [join(root, 'node_modules', '.bin'), process.env.PATH].join(delimiter);
  return env;
}

/** Runs a command that must succeed; fails with the end of its output otherwise. */
async function succeed(
  cwd: string,
  command: string,
  args: readonly string[],
  env?: NodeJS.ProcessEnv,
): Promise<CommandResult> {
  const result = await runCommand(command, args, { cwd, env: env ?? userEnv() });
  assert.equal(
    result.code,
    0,
    `${command} ${args.join(' ')} failed in ${cwd}:\n${outputTail(result)}`,
  );
  return result;
}

describe('user projects installing the packed package', { concurrency: false }, () => {
  let workspace = '';
  let tarball = '';
  let skip: string | undefined;

  before(async () => {
    workspace = await mkdtemp(join(tmpdir(), 'nestjs-sharding-users-'));
    const ping = await runCommand('npm', ['ping', '--fetch-retries=0', '--fetch-timeout=10000'], {
      cwd: workspace,
      env: userEnv(),
      timeout: 20_000,
    });
    if (ping.code !== 0) {
      const how = ping.code === null ? 'timed out' : `failed: ${outputTail(ping, 3)}`;
      skip = `the npm registry is unreachable (npm ping ${how}); the user projects were not tested`;
      return;
    }
    // prepack builds dist/ (both builds) first.
    const packed = await succeed(root, 'npm', ['pack', '--json', '--pack-destination', workspace]);
    // Build logs come first; npm's JSON report starts on a line of its own.
    const [{ filename }] = JSON.parse(packed.output.slice(packed.output.search(/^\[$/m)));
    tarball = join(workspace, filename);
  });

  after(async () => {
    if (workspace !== '') await rm(workspace, { recursive: true, force: true });
  });

  /**
   * A fresh project from `test/user-projects/<name>` plus the shared app and test helper, with
   * the tarball and its dependencies installed (the npm cache serves what it already holds).
   */
  async function createProject(t: TestContext, name: string): Promise<string | undefined> {
    if (skip !== undefined) {
      t.skip(skip);
      return undefined;
    }
    const dir = join(workspace, name);
    await cp(join(fixtures, name), dir, { recursive: true });
    await mkdir(join(dir, 'src'), { recursive: true });
    await cp(join(fixtures, 'shared', 'src'), join(dir, 'src'), { recursive: true });
    await cp(join(fixtures, 'shared', 'test'), join(dir, 'test'), { recursive: true });
    await succeed(dir, 'npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball]);
    return dir;
  }

  it('a CommonJS Nest 11 app (jest, ts-jest, TypeScript 5.9) builds, type-checks and boots a fleet in its e2e test', async (t) => {
    const dir = await createProject(t, 'commonjs-jest');
    if (dir === undefined) return;
    await succeed(dir, 'npm', ['run', 'build']);
    // Types of both entries, `nestjs-sharding/testing` included, under `moduleResolution: node10`.
    await succeed(dir, 'npm', ['run', 'typecheck']);

    // jest's own loader cannot require() node-ipc (an ES module) without VM modules: the
    // package says so and what to do, instead of jest's advice to transform node_modules.
    const refused = await runCommand('npx', ['jest', '--config', './test/jest-e2e.json'], {
      cwd: dir,
      env: userEnv(),
    });
    assert.notEqual(refused.code, 0, outputTail(refused));
    assert.match(refused.output, /ERR_SHARDING_UNSUPPORTED_RUNTIME|UnsupportedRuntimeError/);
    assert.match(refused.output, /NODE_OPTIONS=--experimental-vm-modules/);

    const passed = await succeed(dir, 'npm', ['run', 'test:e2e']);
    assert.match(passed.output, /Tests:\s+1 passed, 1 total/);
  });

  it('an ESM Nest 11 app (module nodenext) builds, type-checks and boots a fleet with node --test, with the CommonJS build loaded too, and uses the health and metrics entries', async (t) => {
    const dir = await createProject(t, 'esm-node-test');
    if (dir === undefined) return;
    // Its build checks the package's own declarations too (skipLibCheck: false), with the
    // optional peers' types installed, as a strict project would.
    await succeed(dir, 'npm', ['run', 'build']);
    const passed = await succeed(dir, 'npm', ['test']);
    assert.match(passed.output, /\bpass 5\n/);
    assert.match(passed.output, /\bfail 0\n/);
  });
});
