import { ShardingError } from '../errors/sharding.error.js';

/**
 * The status page could not listen on its address: the port is in use, or the host is not an
 * address of this machine. Code `ERR_SHARDING_STATUS_PAGE_LISTEN`.
 */
export class StatusPageListenError extends ShardingError {
  constructor(
    /** The address asked for, as `host:port`. */
    readonly address: string,
    cause: Error & { code?: string },
  ) {
    super(
      'ERR_SHARDING_STATUS_PAGE_LISTEN',
      `The status page cannot listen on ${address}: ${cause.code ?? cause.message}. ` +
        (cause.code === 'EADDRINUSE'
          ? 'Another program uses this port: choose another statusPage.port (0 takes any free one).'
          : 'Check statusPage.host and statusPage.port.'),
      { cause },
    );
  }
}
