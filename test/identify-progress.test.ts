// The identify progress lines of a big start-up, on a mocked clock (setTimeout and Date): the
// broker's real queue grants the slots, a Nest LoggerService captures what is logged.
import assert from 'node:assert/strict';
import { Logger, type LoggerService } from '@nestjs/common';
import { afterEach, describe, it, type TestContext } from 'node:test';
import { IdentifyBroker } from '../src/discord/identify.broker.js';
import { LibraryEvent } from '../src/protocol/protocol.constants.js';

interface Line {
  at: number;
  context: string | undefined;
  message: string;
}

/** Captures every line logged through Nest's `Logger`, with the (mocked) time it was logged. */
function captureLogs(): Line[] {
  const lines: Line[] = [];
  const record = (message: unknown, context?: unknown) =>
    lines.push({
      at: Date.now(),
      context: context as string | undefined,
      message: String(message),
    });
  const logger: LoggerService = {
    log: record,
    warn: record,
    debug: record,
    verbose: record,
    error: (message: unknown, ...rest: unknown[]) => record(message, rest.at(-1)),
  };
  Logger.overrideLogger(logger);
  return lines;
}

afterEach(() => Logger.overrideLogger(new Logger()));

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Starts a broker for `shards` shards and has every shard ask for its IDENTIFY slot at time 0
 * (and report it sent as soon as granted).
 */
async function startUp(t: TestContext, shards: number, maxConcurrency: number, window: number) {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const broker = new IdentifyBroker();
  t.after(() => broker.close());
  broker.start({ totalShards: shards, maxConcurrency, window, api: 'http://unused', token: 'x' });
  // Each shard's instance says at once that it sent its IDENTIFY.
  broker.identify$.subscribe(({ shardId }) =>
    broker.handle(LibraryEvent.IDENTIFY_SENT, { shardId }, () => shardId),
  );
  const granted = Array.from({ length: shards }, (_, shardId) =>
    broker.handle(LibraryEvent.IDENTIFY_SLOT, { shardId }, () => shardId),
  );
  await settle();
  return {
    broker,
    /** Runs the mocked clock window by window until every slot is granted. */
    async finish() {
      for (let windows = 0; windows < Math.ceil(shards / maxConcurrency); windows++) {
        t.mock.timers.tick(window);
        await settle();
      }
      await Promise.all(granted);
    },
  };
}

const PROGRESS =
  /^Identifying: (\d+)\/(\d+) shard\(s\) \((\d+)%\), about (?:(\d+) min )?(\d+) s left\.$/;

describe('identify progress lines', () => {
  it('reports a 912-shard start-up at max_concurrency 16 every 10% or 30 s, whichever is rarer, with the time left', async (t) => {
    const lines = captureLogs();
    const fleet = await startUp(t, 912, 16, 5_000);
    await fleet.finish();

    const broker = lines.filter((line) => line.context === 'IdentifyBroker');
    const progress = broker.filter((line) => PROGRESS.test(line.message));
    const done = broker.at(-1)!;
    // 57 windows of 5 s: the last grant comes 56 windows after the first.
    assert.equal(done.message, 'Identified all 912 shard(s) in 4 min 40 s.');
    assert.equal(broker.length, progress.length + 1, 'only progress lines, then the final one');
    assert.ok(
      progress.length >= 5 && progress.length <= 10,
      `a readable number of lines: ${progress.length}`,
    );
    let previous = { at: 0, count: 0, left: Infinity };
    for (const line of progress) {
      const [, count, total, percent, minutes, seconds] = PROGRESS.exec(line.message)!.map(Number);
      const left = (minutes || 0) * 60 + seconds!;
      assert.equal(total, 912);
      assert.equal(percent, Math.floor((count! / 912) * 100));
      assert.ok(line.at - previous.at >= 30_000, `30 s at least between lines: ${line.message}`);
      assert.ok(count! - previous.count >= 92, `10% at least between lines: ${line.message}`);
      // The time left at the pacing in force: ceil(left shards / 16) windows of 5 s.
      assert.equal(left, Math.ceil((912 - count!) / 16) * 5, line.message);
      assert.ok(left < previous.left);
      previous = { at: line.at, count: count!, left };
    }
  });

  it('reports a small start-up by its end only, and later grants (restarts) not at all', async (t) => {
    const lines = captureLogs();
    const fleet = await startUp(t, 4, 4, 5_000);
    await fleet.finish();
    // Shard 2's instance restarted: its new IDENTIFY is no start-up progress.
    const again = fleet.broker.handle(LibraryEvent.IDENTIFY_SLOT, { shardId: 2 }, () => 2);
    t.mock.timers.tick(5_000);
    await again;
    assert.deepEqual(
      lines.map((line) => line.message),
      ['Identified all 4 shard(s) in 0 s.'],
    );
  });
});
