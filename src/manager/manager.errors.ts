import { ShardingError } from '../errors/sharding.error.js';
import type { InstanceState } from './instance-state.js';

/** No instance has this index, or runs this shard. */
export class UnknownInstanceError extends ShardingError {
  constructor(what: string) {
    super('ERR_SHARDING_UNKNOWN_INSTANCE', `No instance matches ${what}.`);
  }
}

/** A call that fails fast (or waited its time) found the instance not ready. */
export class InstanceNotReadyError extends ShardingError {
  constructor(
    readonly instance: number,
    readonly state: InstanceState,
    waited?: number,
  ) {
    super(
      'ERR_SHARDING_INSTANCE_NOT_READY',
      waited === undefined
        ? `Instance ${instance} is ${state}, not ready.`
        : `Instance ${instance} was not ready within ${waited} ms (it is ${state}).`,
    );
  }
}

/** The instance was given up after too many restarts, or the manager shut down. */
export class InstanceUnavailableError extends ShardingError {
  constructor(
    readonly instance: number,
    readonly state: InstanceState,
  ) {
    super(
      'ERR_SHARDING_INSTANCE_UNAVAILABLE',
      state === 'gave-up'
        ? `Instance ${instance} was given up after too many restarts; call restart(${instance}) to try again.`
        : `Instance ${instance} is stopped (the manager is shutting down or has shut down).`,
    );
  }
}

/** The manager was shut down; it does not spawn again. */
export class ManagerShutDownError extends ShardingError {
  constructor() {
    super(
      'ERR_SHARDING_SHUT_DOWN',
      'The sharding manager has shut down and does not spawn again. Create a new application instead.',
    );
  }
}

/** `ShardingModule.forRoot()` was imported more than once in one application. */
export class DuplicateShardingModuleError extends ShardingError {
  constructor(count: number) {
    super(
      'ERR_SHARDING_DUPLICATE_MODULE',
      `ShardingModule.forRoot() is imported ${count} times in one application; each import would ` +
        'run its own fleet. Import it once, in the root module, with isGlobal: true for feature modules.',
    );
  }
}

/** A reshard was refused, or its new fleet failed before the switch; the running fleet is unchanged. */
export class ReshardError extends ShardingError {
  constructor(reason: string, options?: ErrorOptions) {
    super(
      'ERR_SHARDING_RESHARD_REFUSED',
      // A reason taken from another error ends with its own full stop.
      `Resharding did not happen: ${reason.replace(/\.$/, '')}. The running fleet is unchanged.`,
      options,
    );
  }
}
