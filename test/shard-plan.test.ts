import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planShards } from '../src/manager/shard-plan.js';
import { ShardRoutes } from '../src/manager/shard-routes.js';
import { invalidOption } from './support/options.js';

describe('planShards', () => {
  it('splits every shard into contiguous chunks, the last one smaller', () => {
    assert.deepEqual(planShards(10, undefined, 4), [
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    assert.deepEqual(planShards(4, undefined, 2), [
      [0, 1],
      [2, 3],
    ]);
    assert.deepEqual(planShards(3, undefined, 1), [[0], [1], [2]]);
    // More per instance than there are shards: one instance runs them all.
    assert.deepEqual(planShards(3, undefined, 8), [[0, 1, 2]]);
  });

  it('plans only the given subset, in shard order', () => {
    assert.deepEqual(planShards(16, [9, 8, 12, 10, 11], 2), [[8, 9], [10, 11], [12]]);
    assert.deepEqual(planShards(16, [15], 4), [[15]]);
  });

  it('does not change the caller\u2019s shard list', () => {
    const shards = [3, 1, 2];
    planShards(4, shards, 2);
    assert.deepEqual(shards, [3, 1, 2]);
  });

  it('rejects shards outside the total (the auto case, known only at spawn)', () => {
    const error = invalidOption(() => planShards(4, [2, 4], 2));
    assert.equal(error.option, 'shards');
    assert.ok(error.message.includes('[2, 4]'), error.message);
    assert.ok(error.message.includes('(4)'), error.message);
  });
});

describe('ShardRoutes', () => {
  it('routes every planned shard to its instance, and nothing else', () => {
    const routes = new ShardRoutes();
    routes.reset(10, planShards(10, [2, 3, 4, 5, 6], 2));
    assert.deepEqual(
      Array.from({ length: 10 }, (_, shard) => routes.get(shard)),
      [undefined, undefined, 0, 0, 1, 1, 2, undefined, undefined, undefined],
    );
    for (const notAShard of [-1, 10, 2.5, Number.NaN])
      assert.equal(routes.get(notAShard), undefined);
    assert.equal(routes.has(4), true);
    assert.equal(routes.has(7), false);
  });

  it('moves shards on a handover, and starts afresh on a reshard', () => {
    const routes = new ShardRoutes();
    routes.reset(4, planShards(4, undefined, 2));
    routes.set([1], 1);
    assert.deepEqual(
      [0, 1, 2, 3].map((shard) => routes.get(shard)),
      [0, 1, 1, 1],
    );
    routes.reset(6, planShards(6, undefined, 3));
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((shard) => routes.get(shard)),
      [0, 0, 0, 1, 1, 1],
    );
  });
});
