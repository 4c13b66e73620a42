// The README's TypeScript as users paste it: every ```ts block compiled with the project's tsc
// against the built package (its exports map and type declarations), and the Quick start run as a
// real manager with one instance. A snippet that stops compiling or working fails here.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { SHARDING_ENV } from '../src/index.js';
import { cleanUp, defer } from './support/cleanup.js';
import { processMark } from './support/process-mark.js';
import { exitOf, killAndWait } from './support/processes.js';
import { readmeSnippets, type Snippet } from './support/readme-snippets.js';
import { REPO_ROOT, userProject } from './support/user-project.js';

afterEach(cleanUp);

/**
 * Hidden preambles a block names with `<!-- snippet: preamble=NAME -->`: ambient declarations
 * (a `.d.ts` beside the snippets) of what the block uses but this repository does not install.
 */
const PREAMBLES: Record<string, string> = {
  // necord 6 needs Nest 11, so it is not installed here: the two names the recipe uses, typed as
  // necord declares them, so that the recipe's client options are checked against discord.js's.
  necord: `declare module 'necord' {
  import type { DynamicModule } from '@nestjs/common';
  import type { ClientOptions } from 'discord.js';
  export interface NecordModuleOptions extends ClientOptions {
    token: string;
    prefix?: string;
    skipRegistration?: boolean;
  }
  export const NecordModule: {
    forRootAsync(options: {
      imports?: unknown[];
      inject?: unknown[];
      useFactory: (...args: any[]) => NecordModuleOptions | Promise<NecordModuleOptions>;
    }): DynamicModule;
  };
  export function Once(event: string): MethodDecorator;
}
`,
};

// What a user of Nest writes in tsconfig.json (ESM, as the package is).
const TSCONFIG = {
  compilerOptions: {
    target: 'es2023',
    lib: ['es2023'],
    module: 'nodenext',
    moduleResolution: 'nodenext',
    types: ['node'],
    strict: true,
    experimentalDecorators: true,
    emitDecoratorMetadata: true,
    skipLibCheck: true,
    pretty: false,
    rootDir: 'src',
    outDir: 'out',
  },
  include: ['src'],
};

const TSC = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

async function readme(): Promise<Snippet[]> {
  return readmeSnippets(await readFile(join(REPO_ROOT, 'README.md'), 'utf8'));
}

/**
 * Writes `snippets` into a new user project and compiles them with tsc; fails with every error
 * located at its README line. Returns the project's root (the output is in `out/`).
 */
async function compile(snippets: Snippet[]): Promise<string> {
  const root = await userProject('nss-readme-');
  await mkdir(join(root, 'src'));
  await writeFile(join(root, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
  const byFile = new Map<string, Snippet>();
  for (const snippet of snippets) {
    assert.ok(!byFile.has(snippet.file), `two README blocks are named ${snippet.file}`);
    byFile.set(snippet.file, snippet);
    // A block without imports or exports would share its names with the others: make it a module.
    const isModule = /^\s*(import|export)\s/m.test(snippet.code);
    await writeFile(
      join(root, 'src', snippet.file),
      `${snippet.code}\n${isModule ? '' : 'export {};\n'}`,
    );
    if (snippet.preamble !== undefined) {
      const declarations = PREAMBLES[snippet.preamble];
      assert.ok(declarations, `README.md:${snippet.line}: no preamble "${snippet.preamble}"`);
      await writeFile(join(root, 'src', `${snippet.preamble}.preamble.d.ts`), declarations);
    }
  }
  try {
    await promisify(execFile)(process.execPath, [TSC, '-p', root], { cwd: root });
  } catch (error) {
    const output = String((error as { stdout?: string }).stdout ?? error);
    // "src/<file>(line,column): error TS…" → "README.md:<line>:<column> (<file>): error TS…"
    const located = output.replace(
      /^src\/([\w.-]+)\((\d+),(\d+)\)/gm,
      (whole, file, line, column) => {
        const snippet = byFile.get(file as string);
        return snippet === undefined
          ? whole
          : `README.md:${snippet.line + Number(line) - 1}:${column} (${file})`;
      },
    );
    assert.fail(`the README's TypeScript does not compile:\n${located}`);
  }
  return root;
}

// Console output wraps where it likes: texts are compared with each run of whitespace as one space.
const flatten = (text: string) => text.replace(/\s+/g, ' ');

/** The stdout and stderr of a child, and a wait for a text in them. */
function collectOutput(child: ChildProcess & { stdout: Readable; stderr: Readable }) {
  const collected = { text: '' };
  const seen = new EventEmitter();
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8').on('data', (chunk: string) => {
      collected.text += chunk;
      seen.emit('data');
    });
  }
  return {
    get text() {
      return collected.text;
    },
    /** Resolves when `text` has been printed; rejects if the child exits first, or at `deadline`. */
    until(text: string, deadline: number): Promise<void> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => done(new Error(`not printed within ${deadline} ms`)),
          deadline,
        );
        const check = () => {
          if (flatten(collected.text).includes(flatten(text))) done();
        };
        const exited = (code: number | null, signal: string | null) =>
          done(new Error(`the process exited (${code ?? signal})`));
        const done = (error?: Error) => {
          clearTimeout(timer);
          seen.off('data', check);
          child.off('exit', exited);
          if (error === undefined) resolve();
          else reject(new Error(`${error.message} before printing ${text}:\n${collected.text}`));
        };
        seen.on('data', check);
        child.once('exit', exited);
        check();
      });
    },
  };
}

describe("the README's TypeScript", () => {
  it('compiles, every block, against the built package', async () => {
    const snippets = await readme();
    // The Quick start, the client's module and the module that imports it, the recipes, the
    // emulator and the handlers: a README without them is not this one.
    assert.ok(snippets.length >= 7, `only ${snippets.length} TypeScript blocks were found`);
    await compile(snippets);
  });

  it('runs the Quick start: a manager and its one instance answer, and Ctrl+C stops both', async () => {
    const runnable = (await readme()).filter((snippet) => snippet.run);
    assert.equal(runnable.length, 1, 'the README marks one block to run: the Quick start');
    const root = await compile(runnable);
    const main = join(root, 'out', runnable[0]!.file.replace(/\.ts$/, '.js'));

    const mark = processMark();
    const env = mark.env({ NO_COLOR: '1' });
    // Started by the user, the entry is the manager.
    for (const name of Object.values(SHARDING_ENV)) delete env[name];
    const manager = spawn(process.execPath, [main], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    defer(() => killAndWait(manager));
    const output = collectOutput(manager);

    // What the README says it prints: the one instance's reply, with its shards.
    const reply = "{ instance: 0, status: 'fulfilled', value: { instance: 0, shards: [ 0, 1 ] } }";
    await output.until(reply, 60_000);
    const instances = mark.pids().filter((pid) => pid !== manager.pid);
    assert.equal(instances.length, 1, `one instance runs beside the manager:\n${output.text}`);

    // Ctrl+C: the shutdown hooks stop the instance, then the manager ends.
    manager.kill('SIGINT');
    const exit = await exitOf(manager);
    assert.ok(
      exit.code === 0 || exit.signal === 'SIGINT',
      `${JSON.stringify(exit)}\n${output.text}`,
    );
    assert.deepEqual(mark.pids(), [], 'a process of the Quick start outlived its manager');
    assert.doesNotMatch(output.text, /\bERROR\b/, output.text);
  });
});
