import { describeValue } from '../common/describe-value.js';
import { ShardingError } from '../errors/sharding.error.js';
import type { RestructurePayload } from '../protocol/restructure.types.js';
import type { ShardSession } from '../protocol/session-info.interface.js';

/** A new shard set for this instance, from the manager's RESTRUCTURING. */
export interface RestructurePlan {
  /** Every shard the instance runs from now on. */
  shards: number[];
  /** The bot's total shard count from now on. */
  totalShards: number;
  /** The shards it ran before. */
  previousShards: number[];
  /** Sessions to RESUME for the shards it gains, by shard id. */
  sessions: Map<number, ShardSession | null>;
}

/** A shard set applied (the items of `ShardingInstance.restructure$`). */
export interface InstanceRestructure extends RestructurePlan {
  /** The last session of each shard it released (null: none), by shard id. */
  released: Map<number, ShardSession | null>;
}

/**
 * Applies a new shard set to the instance's gateway connections: stops the released shards
 * without ending their sessions (never close code 1000/1001) and returns their last sessions,
 * then starts the gained ones (RESUMEing the given sessions). The `@discordjs/ws` adapter
 * registers one (`shardingWebSocketOptions(...).attach(manager)`).
 */
export type RestructureApplier = (
  plan: RestructurePlan,
) => Promise<Map<number, ShardSession | null>>;

/** RESTRUCTURING reached an instance that has nothing to apply it with. */
export class RestructureUnsupportedError extends ShardingError {
  constructor() {
    super(
      'ERR_SHARDING_RESTRUCTURE_UNSUPPORTED',
      'This instance cannot change its shard set: nothing applies RESTRUCTURING to its gateway. ' +
        'Attach the @discordjs/ws adapter (shardingWebSocketOptions(context, instance).attach(manager)), ' +
        "or handle it yourself with @OnDispatch('RESTRUCTURING', { role: 'instance' }).",
    );
  }
}

/** A RESTRUCTURING payload that is not one. */
export class InvalidRestructureError extends ShardingError {
  constructor(problem: string) {
    super('ERR_SHARDING_INVALID_RESTRUCTURE', `RESTRUCTURING ${problem}; nothing was changed.`);
  }
}

const isShardId = (value: unknown): value is number =>
  Number.isSafeInteger(value) && (value as number) >= 0;

/** Checks a RESTRUCTURING payload and reads it as a plan; throws {@link InvalidRestructureError}. */
export function readRestructure(data: unknown, previousShards: number[]): RestructurePlan {
  const payload = data as Partial<RestructurePayload> | null;
  if (typeof payload !== 'object' || payload === null) {
    throw new InvalidRestructureError(`carries ${describeValue(data)}, not an object`);
  }
  const { shards, total_shards: totalShards, sessions = {} } = payload;
  if (!Number.isSafeInteger(totalShards) || (totalShards as number) < 1) {
    throw new InvalidRestructureError(`has total_shards ${describeValue(totalShards)}`);
  }
  if (
    !Array.isArray(shards) ||
    !shards.every((id) => isShardId(id) && id < totalShards!) ||
    new Set(shards).size !== shards.length
  ) {
    throw new InvalidRestructureError(
      `has shards ${describeValue(shards)}: distinct shard ids below ${totalShards} are needed`,
    );
  }
  if (typeof sessions !== 'object' || sessions === null) {
    throw new InvalidRestructureError(`has sessions ${describeValue(sessions)}`);
  }
  const given = new Map<number, ShardSession | null>();
  for (const [key, session] of Object.entries(sessions)) {
    const id = Number(key);
    if (shards.includes(id)) given.set(id, session ?? null);
  }
  return {
    shards: [...shards],
    totalShards: totalShards!,
    previousShards: [...previousShards],
    sessions: given,
  };
}
