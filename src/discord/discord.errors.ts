import { ShardingError } from '../errors/sharding.error.js';

/** Discord refused the bot token (HTTP 401 or 403). */
export class TokenInvalidError extends ShardingError {
  constructor(detail: string) {
    super(
      'ERR_SHARDING_TOKEN_INVALID',
      `Discord refused the bot token (${detail}). Check the token option or DISCORD_TOKEN.`,
    );
  }
}

/**
 * No bot token was given where Discord must be asked (`GET /gateway/bot`, for
 * `totalShards: 'auto'` or the gateway facts of `@discordjs/ws` instances). Discord was not
 * called. Code `ERR_SHARDING_NO_TOKEN`.
 */
export class MissingTokenError extends ShardingError {
  constructor(url: string) {
    super(
      'ERR_SHARDING_NO_TOKEN',
      `No bot token was given, so GET ${url} was not sent to Discord. Set the token option, or ` +
        "DISCORD_TOKEN in the manager's environment (or give totalShards as a number, so that the " +
        'shard count need not be asked).',
    );
  }
}

/** Discord's API could not be reached or kept failing. */
export class GatewayUnavailableError extends ShardingError {
  constructor(url: string, attempts: number, cause: unknown) {
    super(
      'ERR_SHARDING_GATEWAY_UNAVAILABLE',
      `GET ${url} failed ${attempts} time(s): ${(cause as Error)?.message ?? String(cause)}. ` +
        'Check the network and the api option, or set a static totalShards to skip this call.',
      { cause },
    );
  }
}

/** An instance reported a shard session that is not one (`SESSION_UPDATE` without a valid session). */
export class InvalidSessionUpdateError extends ShardingError {
  constructor(shardId: number) {
    super(
      'ERR_SHARDING_INVALID_SESSION_UPDATE',
      `SESSION_UPDATE for shard ${shardId} carries no valid session (sessionId, resumeURL, ` +
        'sequence and shardCount are required; null ends the session). The manager keeps the ' +
        'session it had.',
    );
  }
}
