import { ShardingError } from './sharding.error.js';

/** An optional peer dependency that this entry point needs is not installed. */
export class MissingPeerDependencyError extends ShardingError {
  constructor(packageName: string, entry: string, cause?: unknown) {
    super(
      'ERR_SHARDING_MISSING_PEER',
      `${entry} needs the package "${packageName}", which is not installed. It is an optional ` +
        `peer dependency: add it to your dev dependencies (npm install --save-dev ${packageName}).`,
      { cause },
    );
  }
}
