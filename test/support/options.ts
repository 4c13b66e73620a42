import assert from 'node:assert/strict';
import { InvalidShardingOptionError } from '../../src/index.js';
import { defer } from './cleanup.js';

/** Sets (or removes) an environment variable for the current test only. */
export function withEnv(name: string, value: string | undefined): void {
  const before = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  defer(() => {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  });
}

/** Runs `resolve` and returns the {@link InvalidShardingOptionError} it must throw. */
export function invalidOption(resolve: () => unknown): InvalidShardingOptionError {
  try {
    resolve();
  } catch (error) {
    assert.ok(
      error instanceof InvalidShardingOptionError,
      `expected InvalidShardingOptionError, got ${String(error)}`,
    );
    assert.equal(error.code, 'ERR_SHARDING_INVALID_OPTION');
    return error;
  }
  assert.fail('the options were accepted');
}
