// The README's first command, `npm run demo`, in its scripted mode (not a terminal): it brings 16
// shards up against the gateway emulator, kills an instance, rolls every instance to a new
// generation, checks its own counts and exits 0 with nothing left behind.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, it } from 'node:test';
import { cleanUp, defer } from './support/cleanup.js';
import { exitOf, killAndWait } from './support/processes.js';

afterEach(cleanUp);

it('runs the demo script to its end: RESUME after a kill, a rolling restart with no IDENTIFY', async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true', NO_COLOR: '1' };
  delete env.DISCORD_TOKEN;
  const demo = fork(
    fileURLToPath(new URL('../examples/discord-demo/main.js', import.meta.url)),
    [],
    { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
  );
  defer(() => killAndWait(demo));
  let output = '';
  demo.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  demo.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const { code } = await exitOf(demo);
  assert.equal(code, 0, output);
  assert.match(output, /status page: http:\/\/127\.0\.0\.1:\d+\//);
  assert.match(output, /instance 1 is back \(generation 2\); its shards RESUMEd/);
  assert.match(
    output,
    /rolling restart done: 4\/4 instances on a new generation, 0 new IDENTIFYs, 0 sessions taken/,
  );
  assert.match(output, /done: 4 instances stopped, nothing left behind/);
});
