import { ShardingError } from '../errors/sharding.error.js';

/** `coordination` is set but the optional peer `ioredis` is not installed. */
export class MissingRedisClientError extends ShardingError {
  constructor(cause?: unknown) {
    super(
      'ERR_SHARDING_MISSING_PEER',
      'The coordination option needs the package "ioredis", which is not installed. It is an ' +
        'optional peer dependency: add it to your dependencies (npm install ioredis).',
      { cause },
    );
  }
}
