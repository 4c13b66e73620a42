import { Inject, Injectable } from '@nestjs/common';
import { OnDispatch, SHARDING_INSTANCE_CONTEXT, type InstanceContext } from 'nestjs-sharding';

/** Answers the manager's PING from an instance, saying which instance and build answered. */
@Injectable()
export class PingHandler {
  constructor(@Inject(SHARDING_INSTANCE_CONTEXT) private readonly context: InstanceContext) {}

  @OnDispatch('PING', { role: 'instance' })
  ping(data: unknown) {
    return {
      pong: data,
      instance: this.context.instance,
      shards: this.context.shards,
      moduleSystem: typeof require === 'function' ? 'commonjs' : 'module',
    };
  }
}
