import type { CoordinationRedisClient } from './coordination-options.interface.js';
import { MissingRedisClientError } from './coordination.errors.js';

/**
 * The ioredis `Redis` class, as far as this package uses it (its own type is not named, so that
 * the package's declarations need no ioredis types).
 */
export type RedisClass = new (...args: unknown[]) => CoordinationRedisClient;

/**
 * Loads ioredis, an optional peer dependency, on first use: only a manager with `coordination`
 * set gets here, so a single host installs and loads nothing more. Throws
 * {@link MissingRedisClientError} when it is not installed.
 */
export async function loadRedis(): Promise<RedisClass> {
  try {
    const module = await import('ioredis');
    return module.Redis as unknown as RedisClass;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new MissingRedisClientError(error);
    }
    throw error;
  }
}
