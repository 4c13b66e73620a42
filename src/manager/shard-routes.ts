import type { ShardPlan } from './shard-plan.js';

/**
 * The instance of each shard, for routing by shard or by guild in O(1): an array indexed by shard
 * id (shard ids are dense, below the total), 4 bytes a shard. A `Map` is O(1) too, but its lookups
 * slow down as it outgrows the CPU caches (2.8x from 1,000 to 10,000 shards in the bench); this
 * array stays within them (40 KiB for 10,000 shards).
 */
export class ShardRoutes {
  /** Instance index by shard id; -1 where no instance runs the shard. */
  private owners = new Int32Array(0);

  /** Replaces every route with those of `plan` (entry `i`: instance `i`'s shards). */
  reset(totalShards: number, plan: ShardPlan): void {
    const owners = new Int32Array(totalShards).fill(-1);
    for (const [instance, shards] of plan.entries()) {
      for (const shard of shards) owners[shard] = instance;
    }
    this.owners = owners;
  }

  /** Routes `shards` to `instance` (a handover). */
  set(shards: readonly number[], instance: number): void {
    for (const shard of shards) this.owners[shard] = instance;
  }

  /** Routes `shards` nowhere (they left this host). */
  delete(shards: readonly number[]): void {
    for (const shard of shards) this.owners[shard] = -1;
  }

  /** The instance running `shard`; undefined when none does, or `shard` is not a shard id. */
  get(shard: number): number | undefined {
    // Out of range, negative and fractional indexes read undefined from a typed array.
    const owner = this.owners[shard];
    return owner === undefined || owner < 0 ? undefined : owner;
  }

  /** Whether an instance runs `shard`. */
  has(shard: number): boolean {
    return this.get(shard) !== undefined;
  }
}
