import { ShardingError } from './sharding.error.js';

/** The package was loaded on a Node.js older than its `engines` range allows. */
export class UnsupportedNodeError extends ShardingError {
  constructor(running: string, required: string) {
    super(
      'ERR_SHARDING_UNSUPPORTED_NODE',
      `nestjs-sharding needs Node.js ${required} or newer, but this process runs Node.js ` +
        `${running}. Upgrade Node.js (its CommonJS build loads node-ipc 14 with require(), ` +
        `which older versions cannot do).`,
    );
  }
}
