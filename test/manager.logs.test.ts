// The manager's log lines tell the story of a real fleet (2 instance processes): spawn, each
// instance ready, the fleet ready, a SIGKILL with its signal, the restart with its delay, the new
// generation ready. A Nest LoggerService captures every level.
import assert from 'node:assert/strict';
import { Logger, type LoggerService } from '@nestjs/common';
import { afterEach, describe, it } from 'node:test';
import { filter, firstValueFrom } from 'rxjs';
import { cleanUp, defer } from './support/cleanup.js';
import { startFleet } from './support/fleet.js';

interface Line {
  level: string;
  context: string;
  message: string;
}

/** A LoggerService that keeps every line, of every level. */
function captureLogs(): { logger: LoggerService; lines: Line[] } {
  const lines: Line[] = [];
  const level =
    (name: string) =>
    (message: unknown, ...rest: unknown[]) =>
      lines.push({ level: name, context: String(rest.at(-1)), message: String(message) });
  const logger: LoggerService = {
    log: level('log'),
    warn: level('warn'),
    error: level('error'),
    debug: level('debug'),
    verbose: level('verbose'),
  };
  // The logger an application is given stays Nest's global one: put the default back.
  defer(() => Logger.overrideLogger(new Logger()));
  return { logger, lines };
}

afterEach(cleanUp);

const messages = (lines: Line[]) => lines.map((line) => line.message);
const indexOf = (lines: Line[], pattern: RegExp) =>
  lines.findIndex((line) => pattern.test(line.message));
const count = (lines: Line[], pattern: RegExp) =>
  lines.filter((line) => pattern.test(line.message)).length;

describe('manager logs', () => {
  it('tell a normal start: spawn, each instance ready, the fleet ready with its shard count', async () => {
    const { logger, lines } = captureLogs();
    await startFleet({}, { logger });
    const story = lines.filter((line) => line.context === 'ShardingManager');

    const spawn = indexOf(
      story,
      /^Spawning 2 instance\(s\) in process mode for 4 of 4 shard\(s\)\.$/,
    );
    const ready0 = indexOf(
      story,
      /^Instance 0 ready \(generation 1, shard\(s\) 0, 1, pid \d+\)\.$/,
    );
    const ready1 = indexOf(
      story,
      /^Instance 1 ready \(generation 1, shard\(s\) 2, 3, pid \d+\)\.$/,
    );
    const fleet = indexOf(story, /^Fleet ready: 4 shard\(s\) on 2 instance\(s\) in \d+\.\d s\.$/);
    assert.ok(spawn >= 0 && ready0 >= 0 && ready1 >= 0 && fleet >= 0, messages(story).join('\n'));
    assert.ok(spawn < ready0 && spawn < ready1, 'spawned before ready');
    assert.ok(fleet > ready0 && fleet > ready1, 'the fleet is ready after its instances');
    assert.equal(count(story, /ready/), 3, 'one line per instance, one for the fleet');
  });

  it('do not report the library event CONNECTED as a failed handler', async () => {
    const { logger, lines } = captureLogs();
    await startFleet({}, { logger });
    const failures = lines.filter((line) => /CONNECTED|No handler/.test(line.message));
    assert.deepEqual(failures, []);
  });

  it('tell a SIGKILL: the failure with its signal, the restart with its delay, the new generation ready', async () => {
    const { logger, lines } = captureLogs();
    const manager = await startFleet({}, { logger });
    const before = lines.length;
    const readyAgain = firstValueFrom(
      manager.status$.pipe(filter((change) => change.instance === 1 && change.to === 'ready')),
    );

    process.kill(manager.status()[1]!.pid!, 'SIGKILL');
    await readyAgain;

    const story = lines.slice(before).filter((line) => line.context === 'ShardingManager');
    const failure = story.findIndex(
      (line) =>
        line.level === 'warn' &&
        /^Instance 1 \(generation 1\) exited \(signal SIGKILL\)(?: \(first noticed: [^)]+\))?; restart 1 in \d+ ms\.$/.test(
          line.message,
        ),
    );
    const ready = indexOf(story, /^Instance 1 ready \(generation 2, shard\(s\) 2, 3, pid \d+\)\.$/);
    assert.ok(failure >= 0 && ready > failure, messages(story).join('\n'));
    assert.equal(count(story, /^Fleet ready/), 0, 'the fleet was ready once, at start-up');
  });

  it('tell a shutdown: the instances stopping, then the fleet stopped', async () => {
    const { logger, lines } = captureLogs();
    const manager = await startFleet({}, { logger });
    const before = lines.length;

    await manager.shutdown();

    const story = lines.slice(before).filter((line) => line.context === 'ShardingManager');
    assert.deepEqual(messages(story), ['Stopping 2 instance(s).', 'Fleet stopped.']);
  });
});
