import { ShardingError } from '../errors/sharding.error.js';

/**
 * `client.shard.broadcastEval()` was called, or reached an instance, where it is off (the
 * default): it runs code sent as text in every instance. The message shows the `@OnDispatch` way.
 */
export class BroadcastEvalDisabledError extends ShardingError {
  constructor(where = 'this instance') {
    super(
      'ERR_SHARDING_BROADCAST_EVAL_DISABLED',
      `client.shard.broadcastEval() is off in ${where}: it sends a function's source to every ` +
        'instance to be evaluated there. Give the instances a handler instead, e.g. ' +
        "@OnDispatch('guild-count', { role: 'instance' }) guildCount() { return " +
        'this.client.guilds.cache.size; }, and ask them all with ' +
        "instance.request('guild-count', undefined, { to: 'all' }) (one settled result per " +
        'instance). To keep broadcastEval, install the layer with { allowBroadcastEval: true } ' +
        'in every instance.',
    );
  }
}

/**
 * A `client.shard` call of the discord.js compatibility layer could not be served: an argument
 * it cannot take, a property path that breaks off, or a value that JSON cannot carry.
 */
export class ShardClientCallError extends ShardingError {
  constructor(message: string, options?: ErrorOptions) {
    super('ERR_SHARDING_SHARD_CLIENT_CALL', message, options);
  }
}
