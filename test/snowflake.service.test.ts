import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import {
  DISCORDOO_EPOCH,
  DISCORDOO_MAX_INCREMENT,
  DISCORDOO_MAX_SHARD_ID,
  DISCORDOO_MAX_TIMESTAMP,
  DISCORDOO_MAX_WORKER_ID,
  MANAGER_SHARD_ID,
} from '../src/snowflake/snowflake.constants.js';
import { InvalidSnowflakeError } from '../src/snowflake/snowflake.error.js';
import {
  buildSnowflake,
  DEFAULT_WORKER_ID,
  defaultWorkerId,
  SnowflakeService,
} from '../src/snowflake/snowflake.service.js';

const SERVICE_URL = new URL('../src/snowflake/snowflake.service.js', import.meta.url).href;
const INCREMENT_MASK = BigInt(DISCORDOO_MAX_INCREMENT);
const TIMESTAMP_SHIFT = 86n;

const VECTOR = {
  fields: { shardId: 8379, workerId: 543029, timestamp: 1624754866109, increment: 0 },
  id: '1183444843991979760462785602312470528',
};

/** A validator for assert.throws: an InvalidSnowflakeError about `field` that shows `shown`. */
function invalid(field: string, shown: string) {
  return (error: unknown): true => {
    assert.ok(error instanceof InvalidSnowflakeError, `not an InvalidSnowflakeError: ${error}`);
    assert.equal(error.code, 'ERR_SHARDING_INVALID_SNOWFLAKE');
    assert.equal(error.field, field);
    assert.ok(
      error.message.startsWith(`Invalid ${field}: got ${shown}; expected `),
      `unexpected message: ${error.message}`,
    );
    return true;
  };
}

interface WorkerResult {
  ids: string[];
  error: { name: string; code: string; field: string; message: string } | null;
}

// Runs generate() `count` times in a fresh worker thread: a new thread has its own module state
// and so a fresh sequence. `keep: 'last'` returns only the last id.
function generateInFreshThread(options: {
  shardId: number;
  workerId: number;
  timestamp: number;
  count: number;
  keep: 'all' | 'last';
}): Promise<WorkerResult> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.url).then(({ SnowflakeService }) => {
      const service = new SnowflakeService();
      const { shardId, workerId, timestamp, count, keep } = workerData;
      const ids = [];
      let last;
      let error = null;
      try {
        for (let i = 0; i < count; i++) {
          last = service.generate(shardId, workerId, timestamp);
          if (keep === 'all') ids.push(last);
        }
      } catch (e) {
        error = { name: e.name, code: e.code, field: e.field, message: e.message };
      }
      if (keep === 'last' && last !== undefined) ids.push(last);
      parentPort.postMessage({ ids, error });
    });
  `;
  return runWorker(code, { url: SERVICE_URL, ...options });
}

function runWorker<T>(code: string, workerData: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, workerData });
    worker.once('message', (message: T) => {
      resolve(message);
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', (exitCode) => reject(new Error(`worker exited with ${exitCode}`)));
  });
}

test('buildSnowflake reproduces the known Discordoo vector', () => {
  assert.equal(buildSnowflake(VECTOR.fields), VECTOR.id);
});

test('deconstruct reads the known vector back', () => {
  const parts = new SnowflakeService().deconstruct(VECTOR.id);
  assert.deepEqual(parts, {
    ...VECTOR.fields,
    date: new Date(1624754866109),
    isManager: false,
  });
  assert.deepEqual(new SnowflakeService().deconstruct(BigInt(VECTOR.id)), parts);
});

test('buildSnowflake puts every field at its edge in its own bits', () => {
  const all = buildSnowflake({
    timestamp: DISCORDOO_MAX_TIMESTAMP,
    workerId: DISCORDOO_MAX_WORKER_ID,
    shardId: DISCORDOO_MAX_SHARD_ID,
    increment: DISCORDOO_MAX_INCREMENT,
  });
  assert.equal(all, ((1n << 128n) - 1n).toString());
  const zero = { timestamp: DISCORDOO_EPOCH, workerId: 0, shardId: 0, increment: 0 };
  assert.equal(buildSnowflake(zero), '0');
  assert.equal(buildSnowflake({ ...zero, increment: 1 }), '1');
  assert.equal(buildSnowflake({ ...zero, shardId: 1 }), (1n << 22n).toString());
  assert.equal(buildSnowflake({ ...zero, workerId: 1 }), (1n << 54n).toString());
  assert.equal(
    buildSnowflake({ ...zero, timestamp: DISCORDOO_EPOCH + 1 }),
    (1n << TIMESTAMP_SHIFT).toString(),
  );
});

test('generate round-trips through deconstruct, timestampOf and dateOf', () => {
  const service = new SnowflakeService();
  const before = Date.now();
  const id = service.generate(8379, 543029);
  const parts = service.deconstruct(id);
  assert.equal(parts.shardId, 8379);
  assert.equal(parts.workerId, 543029);
  assert.equal(parts.isManager, false);
  assert.ok(parts.timestamp >= before, `${parts.timestamp} < ${before}`);
  assert.equal(service.timestampOf(id), parts.timestamp);
  assert.deepEqual(service.dateOf(id), new Date(parts.timestamp));
  assert.equal(
    buildSnowflake({
      timestamp: parts.timestamp,
      workerId: 543029,
      shardId: 8379,
      increment: parts.increment,
    }),
    id,
  );
});

test('generate uses the process id as the default worker id in the main thread', () => {
  const service = new SnowflakeService();
  assert.equal(DEFAULT_WORKER_ID, process.pid);
  assert.equal(service.deconstruct(service.generate(3)).workerId, process.pid);
});

test('manager and instance ids made by the same process differ and say which is which', () => {
  const service = new SnowflakeService();
  const timestamp = Date.now();
  const manager = service.generate(SnowflakeService.MANAGER_SHARD_ID, process.pid, timestamp);
  const instance = service.generate(0, process.pid, timestamp);
  assert.notEqual(manager, instance);
  assert.equal(SnowflakeService.MANAGER_SHARD_ID, MANAGER_SHARD_ID);
  assert.equal(MANAGER_SHARD_ID, 1111111111);
  const m = service.deconstruct(manager);
  const i = service.deconstruct(instance);
  assert.equal(m.isManager, true);
  assert.equal(m.shardId, MANAGER_SHARD_ID);
  assert.equal(i.isManager, false);
  assert.equal(i.shardId, 0);
  assert.equal(m.workerId, i.workerId);
});

test('defaultWorkerId keeps worker threads apart from the main thread and from each other', () => {
  assert.equal(defaultWorkerId(4321, 0), 4321);
  const pid = 4_194_303; // the largest Linux process id
  const seen = new Set<number>([pid]);
  for (let thread = 1; thread <= 1023; thread++) {
    const id = defaultWorkerId(pid, thread);
    assert.ok(id > pid && id <= DISCORDOO_MAX_WORKER_ID, `thread ${thread}: ${id}`);
    assert.ok(!seen.has(id), `thread ${thread} repeats ${id}`);
    seen.add(id);
  }
  // Slots are reused only 1023 thread ids later.
  assert.equal(defaultWorkerId(pid, 1024), defaultWorkerId(pid, 1));
  // No thread id maps back onto slot 0, the main thread's.
  assert.notEqual(defaultWorkerId(pid, 1023 * 2 + 1) >>> 22, 0);
});

test('generate rejects fields that are negative, fractional or out of range', () => {
  const service = new SnowflakeService();
  const now = Date.now();
  assert.throws(() => service.generate(-1), invalid('shardId', '-1'));
  assert.throws(() => service.generate(1.5), invalid('shardId', '1.5'));
  assert.throws(() => service.generate(Number.NaN), invalid('shardId', 'NaN'));
  assert.throws(() => service.generate(2 ** 32), invalid('shardId', '4294967296'));
  assert.throws(() => service.generate('1' as unknown as number), invalid('shardId', '"1"'));
  assert.throws(() => service.generate(0, -1), invalid('workerId', '-1'));
  assert.throws(() => service.generate(0, 2 ** 32), invalid('workerId', '4294967296'));
  assert.throws(() => service.generate(0, 0.25), invalid('workerId', '0.25'));
  assert.throws(
    () => service.generate(0, 1, DISCORDOO_EPOCH - 1),
    invalid('timestamp', String(DISCORDOO_EPOCH - 1)),
  );
  assert.throws(
    () => service.generate(0, 1, DISCORDOO_MAX_TIMESTAMP + 1),
    invalid('timestamp', String(DISCORDOO_MAX_TIMESTAMP + 1)),
  );
  assert.throws(() => service.generate(0, 1, now + 0.5), invalid('timestamp', String(now + 0.5)));
  assert.throws(() => service.generate(0, 1, Infinity), invalid('timestamp', 'Infinity'));
});

test('rejection messages name the field, the value and the allowed range', () => {
  const service = new SnowflakeService();
  assert.throws(() => service.generate(2 ** 32), {
    message: 'Invalid shardId: got 4294967296; expected an integer from 0 to 4294967295.',
  });
  assert.throws(() => service.generate(0, 1, 0), {
    message:
      'Invalid timestamp: got 0; expected an integer number of milliseconds since the Unix ' +
      'epoch from 1609459200000 (2021-01-01T00:00:00.000Z) to 6007505711103 ' +
      '(2160-05-15T07:35:11.103Z).',
  });
  assert.throws(() => service.deconstruct('12a'), {
    message:
      'Invalid id: got "12a"; expected a Discordoo snowflake: a bigint or a string of at most ' +
      '39 decimal digits, from 0 to 340282366920938463463374607431768211455 (2^128 - 1).',
  });
});

test('buildSnowflake rejects every out-of-range field', () => {
  const ok = { timestamp: DISCORDOO_EPOCH, workerId: 0, shardId: 0, increment: 0 };
  assert.throws(
    () => buildSnowflake({ ...ok, increment: 2 ** 22 }),
    invalid('increment', '4194304'),
  );
  assert.throws(() => buildSnowflake({ ...ok, increment: -1 }), invalid('increment', '-1'));
  assert.throws(() => buildSnowflake({ ...ok, shardId: -1 }), invalid('shardId', '-1'));
  assert.throws(
    () => buildSnowflake({ ...ok, workerId: 2 ** 32 }),
    invalid('workerId', '4294967296'),
  );
  assert.throws(
    () => buildSnowflake({ ...ok, timestamp: DISCORDOO_EPOCH - 1 }),
    invalid('timestamp', String(DISCORDOO_EPOCH - 1)),
  );
});

test('deconstruct, timestampOf and dateOf reject ids that are not Discordoo snowflakes', () => {
  const service = new SnowflakeService();
  const tooBig = 1n << 128n;
  const cases: Array<[unknown, string]> = [
    ['abc', '"abc"'],
    ['', '""'],
    ['-1', '"-1"'],
    [' 1', '" 1"'],
    ['1 ', '"1 "'],
    ['0x10', '"0x10"'],
    ['1e5', '"1e5"'],
    ['1.0', '"1.0"'],
    [tooBig.toString(), `"${tooBig}"`],
    ['1'.repeat(40), `"${'1'.repeat(40)}"`],
    [-1n, '-1n'],
    [tooBig, `${tooBig}n`],
    [123, '123'],
    [null, 'null'],
    [undefined, 'undefined'],
  ];
  for (const [id, shown] of cases) {
    const bad = id as string;
    assert.throws(() => service.deconstruct(bad), invalid('id', shown));
    assert.throws(() => service.timestampOf(bad), invalid('id', shown));
    assert.throws(() => service.dateOf(bad), invalid('id', shown));
  }
  assert.equal(service.deconstruct((tooBig - 1n).toString()).increment, DISCORDOO_MAX_INCREMENT);
});

test('5 million ids in a tight loop are strictly increasing', () => {
  const service = new SnowflakeService();
  let previous = -1n;
  for (let i = 0; i < 5_000_000; i++) {
    const id = service.generate(3, 11);
    const value = BigInt(id);
    if (value <= previous) assert.fail(`id ${i} (${id}) is not above the one before (${previous})`);
    previous = value;
  }
});

test('more than 2^22 ids with one fixed timestamp wrap the increment and stay unique', () => {
  const service = new SnowflakeService();
  // The explicit timestamp is a lower bound; the epoch is below any millisecond already used, so
  // the sequence carries on in its last millisecond and only a wrap can advance it.
  const count = 2 ** 22 + 100_000;
  let previous = BigInt(service.generate(4, 12, DISCORDOO_EPOCH));
  let wraps = 0;
  for (let i = 0; i < count; i++) {
    const id = service.generate(4, 12, DISCORDOO_EPOCH);
    const value = BigInt(id);
    if (value === previous + 1n) {
      previous = value;
      continue;
    }
    // Not the next increment: it must be increment 0 of the next millisecond, after the last one.
    if (
      (previous & INCREMENT_MASK) !== INCREMENT_MASK ||
      (value & INCREMENT_MASK) !== 0n ||
      value >> TIMESTAMP_SHIFT !== (previous >> TIMESTAMP_SHIFT) + 1n ||
      value - (value & INCREMENT_MASK) !==
        previous - (previous & INCREMENT_MASK) + (1n << TIMESTAMP_SHIFT)
    ) {
      assert.fail(`id ${i} (${id}) does not follow ${previous}`);
    }
    wraps++;
    previous = value;
  }
  assert.ok(wraps >= 1, 'the increment never wrapped');
});

test('all service instances in a thread share one sequence', () => {
  const a = new SnowflakeService();
  const b = new SnowflakeService();
  const timestamp = Date.now();
  let previous = -1n;
  for (let i = 0; i < 1000; i++) {
    const value = BigInt((i % 2 === 0 ? a : b).generate(5, 13, timestamp));
    assert.ok(value > previous, `id ${i} repeats or goes back`);
    previous = value;
  }
});

test('two copies of the module loaded in one thread share one sequence', async () => {
  const copy = (await import(`${SERVICE_URL}?copy=2`)) as {
    SnowflakeService: typeof SnowflakeService;
  };
  assert.notEqual(copy.SnowflakeService, SnowflakeService);
  const a = new SnowflakeService();
  const b = new copy.SnowflakeService();
  const timestamp = Date.now();
  let previous = -1n;
  for (let i = 0; i < 1000; i++) {
    const value = BigInt((i % 2 === 0 ? a : b).generate(6, 14, timestamp));
    assert.ok(value > previous, `id ${i} repeats or goes back`);
    previous = value;
  }
});

test('an explicit timestamp earlier than the last one used is a lower bound', () => {
  const service = new SnowflakeService();
  const first = service.generate(7, 15);
  const second = service.generate(7, 15, DISCORDOO_EPOCH + 5);
  assert.ok(BigInt(second) > BigInt(first));
  assert.ok(service.timestampOf(second) >= service.timestampOf(first));
});

test('ids keep increasing when the clock goes backwards', (t) => {
  const service = new SnowflakeService();
  const last = service.timestampOf(service.generate(8, 16));
  const now = Math.max(Date.now(), last + 1);
  t.mock.timers.enable({ apis: ['Date'], now });
  const first = service.generate(8, 16);
  assert.equal(service.timestampOf(first), now, 'the mocked clock is not in use');
  t.mock.timers.setTime(now - 60_000);
  const second = service.generate(8, 16);
  assert.ok(BigInt(second) > BigInt(first), `${second} <= ${first}`);
  assert.deepEqual(service.deconstruct(second), {
    ...service.deconstruct(first),
    increment: service.deconstruct(first).increment + 1,
  });
});

test('ids made at full speed in two worker threads and the main thread never collide', async () => {
  const perThread = 300_000;
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.url).then(({ SnowflakeService }) => {
      const service = new SnowflakeService();
      parentPort.once('message', () => {
        const ids = new Array(workerData.count);
        for (let i = 0; i < workerData.count; i++) ids[i] = service.generate(0);
        parentPort.postMessage(ids);
      });
      parentPort.postMessage('ready');
    });
  `;
  const workers = [0, 1].map(
    () => new Worker(code, { eval: true, workerData: { url: SERVICE_URL, count: perThread } }),
  );
  try {
    // once() rejects if the worker emits 'error' first.
    const ready = await Promise.all(workers.map((worker) => once(worker, 'message')));
    assert.deepEqual(ready, [['ready'], ['ready']]);
    const results = workers.map((worker) => once(worker, 'message'));
    for (const worker of workers) worker.postMessage('go');

    const service = new SnowflakeService();
    const mine = Array.from({ length: perThread }, () => service.generate(0));

    const theirs = (await Promise.all(results)).map(([ids]) => ids as string[]);
    const all = new Set<string>(mine);
    for (const ids of theirs) {
      assert.equal(ids.length, perThread);
      for (const id of ids) all.add(id);
    }
    assert.equal(all.size, 3 * perThread, `${3 * perThread - all.size} duplicate ids`);

    const workerIds = [mine, ...theirs].map((ids) => service.deconstruct(ids[0]!).workerId);
    assert.equal(workerIds[0], process.pid);
    assert.equal(new Set(workerIds).size, 3, `worker ids ${workerIds.join(', ')}`);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
});

test('a fresh sequence starts at increment 0 of the given timestamp', async () => {
  // The smallest ids: their decimal form has fewer than 16 digits and must not be zero-padded.
  const result = await generateInFreshThread({
    shardId: 1,
    workerId: 0,
    timestamp: DISCORDOO_EPOCH,
    count: 3,
    keep: 'all',
  });
  assert.equal(result.error, null);
  assert.deepEqual(result.ids, ['4194304', '4194305', '4194306']);
});

test('ids whose low 15 decimal digits carry over are still exact', async () => {
  // Pick fields whose shared prefix ends just below a multiple of 10^15, so that the increment
  // carries into the 16th digit within the first ids; every id must equal buildSnowflake's.
  const timestamp = DISCORDOO_EPOCH + 123_456_789_012;
  const base = 10n ** 15n;
  // Prefixes are multiples of 2^22 and 10^15 is a multiple of 2^15, so the carry comes after a
  // multiple of 2^15 ids; look for a worker id where it comes after 2^15 or 2^16.
  let chosen: { workerId: number; shardId: number; carryAt: number } | undefined;
  for (let workerId = 1; chosen === undefined && workerId < 100_000; workerId++) {
    const above = BigInt(buildSnowflake({ timestamp, workerId, shardId: 0, increment: 0 })) % base;
    // The shard field moves the prefix by 2^22 per step; take the first step that lands within
    // 2^22 below the next multiple of 10^15.
    const shardId = Number((base - above - 1n) / (1n << 22n));
    const low = (above + (BigInt(shardId) << 22n)) % base;
    const carryAt = Number(base - low);
    if (carryAt <= 2 ** 16) chosen = { workerId, shardId, carryAt };
  }
  assert.ok(chosen, 'no worker id gives an early carry');
  const { workerId, shardId, carryAt } = chosen;
  const result = await generateInFreshThread({
    shardId,
    workerId,
    timestamp,
    count: carryAt + 10,
    keep: 'all',
  });
  assert.equal(result.error, null);
  assert.equal(result.ids.length, carryAt + 10);
  result.ids.forEach((id, increment) => {
    assert.equal(
      id,
      buildSnowflake({ timestamp, workerId, shardId, increment }),
      `increment ${increment}`,
    );
  });
});

test('generate refuses to run past the last millisecond a snowflake can hold', async () => {
  const result = await generateInFreshThread({
    shardId: 0,
    workerId: 0,
    timestamp: DISCORDOO_MAX_TIMESTAMP,
    count: 2 ** 22 + 1,
    keep: 'last',
  });
  assert.deepEqual(result.ids, [
    buildSnowflake({
      timestamp: DISCORDOO_MAX_TIMESTAMP,
      workerId: 0,
      shardId: 0,
      increment: DISCORDOO_MAX_INCREMENT,
    }),
  ]);
  assert.ok(result.error);
  assert.equal(result.error.name, 'InvalidSnowflakeError');
  assert.equal(result.error.code, 'ERR_SHARDING_INVALID_SNOWFLAKE');
  assert.equal(result.error.field, 'timestamp');
});

test('deconstructDiscord reads Discord’s documented example id', () => {
  const service = new SnowflakeService();
  const expected = {
    timestamp: 1462015105796,
    date: new Date(1462015105796),
    workerId: 1,
    processId: 0,
    increment: 7,
  };
  assert.deepEqual(service.deconstructDiscord('175928847299117063'), expected);
  assert.deepEqual(service.deconstructDiscord(175928847299117063n), expected);
  assert.deepEqual(service.deconstructDiscord('18446744073709551615'), {
    timestamp: 1420070400000 + 4398046511103,
    date: new Date(1420070400000 + 4398046511103),
    workerId: 31,
    processId: 31,
    increment: 4095,
  });
});

test('deconstructDiscord rejects ids that are not 64-bit decimal snowflakes', () => {
  const service = new SnowflakeService();
  const cases: Array<[unknown, string]> = [
    ['abc', '"abc"'],
    ['', '""'],
    ['-1', '"-1"'],
    ['1.5', '"1.5"'],
    ['+1', '"+1"'],
    ['18446744073709551616', '"18446744073709551616"'],
    ['0'.repeat(21), `"${'0'.repeat(21)}"`],
    [-1n, '-1n'],
    [1n << 64n, '18446744073709551616n'],
    [2 ** 60, '1152921504606847000'],
  ];
  for (const [id, shown] of cases) {
    assert.throws(() => service.deconstructDiscord(id as string), invalid('id', shown));
  }
});

test('shardForGuild is exact for ids above 2^53 and 2^63', () => {
  const service = new SnowflakeService();
  // Expected values: (id >> 22) % n, worked out once with BigInt:
  // 1146749583373226046 >> 22 = 273406406253; 2^64 - 1 >> 22 = 4398046511103;
  // 2^63 - 1 >> 22 = 2199023255551.
  const cases: Array<[string, number, number]> = [
    ['1146749583373226046', 1, 0],
    ['1146749583373226046', 16, 13],
    ['1146749583373226046', 1000, 253],
    ['1146749583373226046', 2500, 1253],
    ['18446744073709551615', 1000, 103], // Number arithmetic would give 104 here
    ['18446744073709551615', 1024, 1023],
    ['18446744073709551615', 7, 0],
    ['9223372036854775807', 1000, 551], // and 552 here
    ['9223372036854775807', 7, 3],
    ['175928847299117063', 1, 0],
  ];
  for (const [guildId, totalShards, shard] of cases) {
    assert.equal(service.shardForGuild(guildId, totalShards), shard, `${guildId} % ${totalShards}`);
    assert.equal(service.shardForGuild(BigInt(guildId), totalShards), shard);
  }
});

test('shardForGuild rejects bad guild ids and shard counts that are not positive integers', () => {
  const service = new SnowflakeService();
  for (const [totalShards, shown] of [
    [0, '0'],
    [-1, '-1'],
    [1.5, '1.5'],
    [Number.NaN, 'NaN'],
    [Infinity, 'Infinity'],
    [2 ** 53, '9007199254740992'],
    ['2', '"2"'],
  ] as Array<[unknown, string]>) {
    assert.throws(
      () => service.shardForGuild('1146749583373226046', totalShards as number),
      invalid('totalShards', shown),
    );
  }
  assert.throws(() => service.shardForGuild('-5', 2), invalid('guildId', '"-5"'));
  assert.throws(
    () => service.shardForGuild(1n << 64n, 2),
    invalid('guildId', '18446744073709551616n'),
  );
  assert.throws(() => service.shardForGuild('guild', 2), invalid('guildId', '"guild"'));
});
