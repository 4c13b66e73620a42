// Loaded for its side effect: the decorator may run before anything has imported @nestjs/common.
// oxlint-disable-next-line import/no-unassigned-import
import 'reflect-metadata';
import type { ShardingRole } from '../common/sharding-role.js';
import { DISPATCH_HANDLER_METADATA } from './dispatch.constants.js';
import { InvalidDispatchHandlerError } from './dispatch.errors.js';
import { invalidEventMessage, invalidRoleMessage, notAMethodMessage } from './dispatch.messages.js';

/** Where a handler runs: on one side of the fleet, or on both. */
export type OnDispatchRole = ShardingRole | 'both';

/** The values `OnDispatchOptions.role` accepts. */
export const ON_DISPATCH_ROLES: readonly OnDispatchRole[] = ['manager', 'instance', 'both'];

/** Options of one `@OnDispatch`. */
export interface OnDispatchOptions {
  /**
   * The side of the fleet the handler runs on: `'manager'`, `'instance'`, or `'both'`.
   * On the other side the handler is skipped as if it were not there (so a request that only it
   * could answer fails with `NoHandlerError`). Default `'both'`.
   */
  role?: OnDispatchRole;
}

/** What one `@OnDispatch` stores on its method. */
export interface OnDispatchMetadata {
  /** The event names the method handles (at least one, none empty). */
  events: string[];
  /** The options given to the decorator, defaults not filled in. */
  options: OnDispatchOptions;
}

/**
 * Marks a provider method as the handler of one or more dispatch events (op 0 packets).
 *
 * The method is called as `(data, context)`, bound to the provider instance: `data` is the
 * packet's `d.data` and `context` tells the event, the sender (`'manager'` or an instance index),
 * the event id and whether the sender waits for a reply. For a request, the method's return value
 * (or the value its promise resolves to) is the reply; a throw or a rejection becomes an ERROR
 * reply and is logged. For a fire-and-forget event the return value is ignored and an error is
 * only logged. See `DispatchRegistry` for what happens when several handlers share an event.
 *
 * Decorators can be stacked on one method; each adds its events (in source order, top first).
 * Only singleton providers are discovered: request-scoped ones are skipped with a warning, and
 * controllers are not scanned. `DispatchExplorer` (with `DiscoveryModule`) must be in the
 * application for the methods to be found.
 *
 * @param event the event name, or several names; user events are any string, library events are
 *   upper-case (`CONNECTED`, `DESTROYING`, `RESTRUCTURING`, `MESSAGE`).
 * @param options see `OnDispatchOptions`; by default the handler runs on both sides.
 *
 * @example
 * ```ts
 * @Injectable()
 * export class StatsHandlers {
 *   private readonly logger = new Logger(StatsHandlers.name);
 *
 *   constructor(private readonly client: Client) {}
 *
 *   // Answers `manager.request(3, 'GUILD_COUNT')` with this instance's guild count.
 *   @OnDispatch('GUILD_COUNT', { role: 'instance' })
 *   guildCount(): number {
 *     return this.client.guilds.cache.size;
 *   }
 *
 *   @OnDispatch(['CONNECTED', 'RESTRUCTURING'], { role: 'manager' })
 *   @OnDispatch('DESTROYING')
 *   async onLifecycle(data: unknown, context: DispatchContext): Promise<void> {
 *     this.logger.log(`${context.event} from ${context.from}`);
 *   }
 * }
 * ```
 */
export function OnDispatch(
  event: string | string[],
  options: OnDispatchOptions = {},
): MethodDecorator {
  const events = Array.isArray(event) ? [...event] : [event];
  return (target, key, descriptor) => {
    const where = `${describeTarget(target)}.${String(key)}`;
    if (events.length === 0 || events.some((name) => typeof name !== 'string' || name === '')) {
      throw new InvalidDispatchHandlerError(invalidEventMessage(where, event));
    }
    if (options.role !== undefined && !ON_DISPATCH_ROLES.includes(options.role)) {
      throw new InvalidDispatchHandlerError(
        invalidRoleMessage(`@OnDispatch on ${where}`, options.role, ON_DISPATCH_ROLES),
      );
    }
    const method: unknown = descriptor.value;
    // Discovery scans prototypes, so a static method would silently never be called.
    if (typeof target === 'function' || typeof method !== 'function') {
      throw new InvalidDispatchHandlerError(notAMethodMessage(where));
    }
    // Decorators run bottom-up; prepending keeps the stored list in source order.
    const existing: OnDispatchMetadata[] =
      Reflect.getOwnMetadata(DISPATCH_HANDLER_METADATA, method) ?? [];
    const entry: OnDispatchMetadata = { events: [...new Set(events)], options: { ...options } };
    Reflect.defineMetadata(DISPATCH_HANDLER_METADATA, [entry, ...existing], method);
    return descriptor;
  };
}

function describeTarget(target: object): string {
  // A static member's target is the class itself; an instance member's is its prototype.
  return typeof target === 'function' ? target.name : target.constructor.name;
}
