import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { DispatchContext, DispatchHandler } from './dispatch-context.interface.js';
import { isPromiseLike } from '../common/is-promise-like.js';
import { SHARDING_ROLE, SHARDING_ROLES, type ShardingRole } from '../common/sharding-role.js';
import { InvalidDispatchHandlerError, NoHandlerError } from './dispatch.errors.js';
import {
  handlerFailedMessage,
  invalidEventMessage,
  invalidRoleMessage,
} from './dispatch.messages.js';
import { instanceLogContext } from '../runtime/instance-log-context.js';
import { ON_DISPATCH_ROLES, type OnDispatchRole } from './on-dispatch.decorator.js';

/** Options of one registration. */
export interface DispatchRegistrationOptions {
  /**
   * The side of the fleet the handler runs on; on the other side `handle` skips it.
   * Default `'both'`.
   */
  role?: OnDispatchRole;
}

/** One handler as the registry keeps it. */
interface RegisteredHandler {
  readonly handler: DispatchHandler;
  /** Names the handler in logs, e.g. `StatsHandlers.guildCount`. */
  readonly source: string;
  readonly role: OnDispatchRole;
}

/**
 * The handlers of dispatch events (op 0 packets) of one application, by event name, and the
 * `DispatchHandler` that runs them.
 *
 * `DispatchExplorer` fills it from `@OnDispatch` methods; `register` adds plain functions. Assign
 * `handle` to a connection's `dispatchHandler` to serve its dispatches.
 *
 * When an event has several handlers, `handle` runs all of them (started one after the other in
 * registration order, then awaited together):
 * - the reply to a request is the result of the FIRST registered handler, once every handler has
 *   settled; the others' results are ignored;
 * - every handler error is logged with the handler's name; for a request the error of the
 *   first failing handler (in registration order) is thrown, so the requester gets an ERROR
 *   reply even if the first handler succeeded; for a fire-and-forget event nothing is thrown.
 *
 * Registration order is Nest's discovery order: modules as Nest scanned them, providers as
 * listed in their module, methods as declared (base-class methods after the subclass's), events
 * of stacked decorators top first. To keep replies obvious, give a request event one handler.
 */
@Injectable()
export class DispatchRegistry {
  private readonly logger: Logger;
  private readonly byEvent = new Map<string, RegisteredHandler[]>();
  /**
   * The handlers of each event that run under the role, computed once per event with handlers
   * (so unknown names sent by a peer add nothing), replaced, never changed, on registration.
   */
  private readonly activeByEvent = new Map<string, readonly RegisteredHandler[]>();
  // instance → method → events already registered, so discovery can run again harmlessly.
  private readonly boundMethods = new WeakMap<object, Map<string, Set<string>>>();
  private readonly role: ShardingRole | undefined;

  /**
   * @param role the side of the fleet, from the `SHARDING_ROLE` provider that `ShardingModule`
   *   gives in both roles. Without it (a registry used on its own) no handler is filtered out.
   */
  constructor(@Optional() @Inject(SHARDING_ROLE) role?: ShardingRole) {
    if (role !== undefined && !SHARDING_ROLES.includes(role)) {
      throw new InvalidDispatchHandlerError(
        invalidRoleMessage('DispatchRegistry', role, SHARDING_ROLES),
      );
    }
    this.role = role;
    // In an instance, its lines name it: a fleet's instances often share one log stream.
    this.logger = new Logger(
      role === 'instance' ? instanceLogContext(DispatchRegistry.name) : DispatchRegistry.name,
    );
  }

  /**
   * The side of the fleet this application runs on. Handlers limited to the other side are
   * skipped by `handle`, `has` and `events`. `undefined` outside `ShardingModule`: nothing is
   * filtered out.
   */
  get currentRole(): ShardingRole | undefined {
    return this.role;
  }

  /**
   * Adds `handler` for `event`, after the handlers already there. Registering the same function
   * for the same event again does nothing.
   *
   * @param event the event name (the packet's `t`); not empty.
   * @param handler called as `(data, context)`; see the class for how results and errors are used.
   * @param source names the handler in logs, e.g. `StatsHandlers.guildCount`.
   * @param options see `DispatchRegistrationOptions`.
   * @returns whether the handler was added.
   */
  register(
    event: string,
    handler: DispatchHandler,
    source: string,
    options: DispatchRegistrationOptions = {},
  ): boolean {
    if (typeof event !== 'string' || event === '') {
      throw new InvalidDispatchHandlerError(invalidEventMessage(source, event));
    }
    const role = options.role ?? 'both';
    if (!ON_DISPATCH_ROLES.includes(role)) {
      throw new InvalidDispatchHandlerError(
        invalidRoleMessage(`The handler ${source}`, role, ON_DISPATCH_ROLES),
      );
    }
    const handlers = this.byEvent.get(event) ?? [];
    if (handlers.some((entry) => entry.handler === handler)) return false;
    handlers.push({ handler, source, role });
    this.byEvent.set(event, handlers);
    this.activeByEvent.clear();
    return true;
  }

  /**
   * Adds `instance[methodKey]`, called on `instance`, as a handler of `event`, named
   * `ClassName.methodKey` in logs. The same instance, method and event are registered once only,
   * however often this is called. The method is looked up at each call, so a spy or a
   * replacement put on the instance later is the one that runs.
   *
   * @returns whether the handler was added.
   */
  registerMethod(
    instance: object,
    methodKey: string,
    event: string,
    options: DispatchRegistrationOptions = {},
  ): boolean {
    let methods = this.boundMethods.get(instance);
    if (methods === undefined) {
      methods = new Map();
      this.boundMethods.set(instance, methods);
    }
    let events = methods.get(methodKey);
    if (events === undefined) {
      events = new Set();
      methods.set(methodKey, events);
    }
    if (events.has(event)) return false;
    const target = instance as Record<string, (data: unknown, context: DispatchContext) => unknown>;
    const source = `${instance.constructor?.name ?? 'Object'}.${methodKey}`;
    const added = this.register(
      event,
      (data, context) => target[methodKey]!(data, context),
      source,
      options,
    );
    events.add(event);
    return added;
  }

  /** Whether `event` has a handler that runs under `currentRole`. */
  has(event: string): boolean {
    return this.active(event).length > 0;
  }

  /** The events that have a handler running under `currentRole`, in first-registration order. */
  events(): string[] {
    return [...this.byEvent.keys()].filter((event) => this.has(event));
  }

  /**
   * Runs every handler of `context.event` that runs under `currentRole` (see the class for the
   * rules). Resolves with the first handler's result for a request and with `undefined` for an
   * event; rejects with `NoHandlerError` when the event has no such handler. An arrow function,
   * so it can be handed over unbound: `client.dispatchHandler = registry.handle`.
   *
   * A handler that never settles holds the reply back; the requester's timeout then applies.
   */
  readonly handle = async (data: unknown, context: DispatchContext): Promise<unknown> =>
    this.run(data, context);

  /**
   * {@link handle} without a promise where none is needed: when the event has one handler and it
   * returns a plain value, returns that value (`undefined` for an event) and throws what it throws
   * (logged, like every handler failure; for an event nothing is thrown). Otherwise returns what
   * `handle` would. Throws `NoHandlerError` when the event has no handler. This is the
   * `DispatchHandler` the links use: a synchronous handler's reply goes out in the same turn.
   */
  readonly run = (data: unknown, context: DispatchContext): unknown => {
    const handlers = this.active(context.event);
    if (handlers.length !== 1) {
      if (handlers.length === 0) throw new NoHandlerError(context.event);
      return this.runAll(handlers, data, context);
    }
    const entry = handlers[0]!;
    let result: unknown;
    try {
      result = entry.handler(data, context);
    } catch (error) {
      return this.failed(entry, context, error);
    }
    if (!isPromiseLike(result)) return context.isRequest ? result : undefined;
    return (result instanceof Promise ? result : Promise.resolve(result)).then(
      (value: unknown) => (context.isRequest ? value : undefined),
      (error: unknown) => this.failed(entry, context, error),
    );
  };

  /** Several handlers: started in order, awaited together (see the class for the rules). */
  private async runAll(
    handlers: readonly RegisteredHandler[],
    data: unknown,
    context: DispatchContext,
  ): Promise<unknown> {
    const outcomes = await Promise.allSettled(
      handlers.map((entry) => invoke(entry.handler, data, context)),
    );
    let failure: { error: unknown } | undefined;
    for (const [index, outcome] of outcomes.entries()) {
      if (outcome.status === 'fulfilled') continue;
      this.logFailure(handlers[index]!, context, outcome.reason);
      failure ??= { error: outcome.reason };
    }
    if (!context.isRequest) return undefined;
    if (failure !== undefined) throw failure.error;
    return (outcomes[0] as PromiseFulfilledResult<unknown>).value;
  }

  /** Logs a handler's failure; throws it again for a request, so it becomes the ERROR reply. */
  private failed(entry: RegisteredHandler, context: DispatchContext, error: unknown): undefined {
    this.logFailure(entry, context, error);
    if (context.isRequest) throw error;
    return undefined;
  }

  private logFailure(entry: RegisteredHandler, context: DispatchContext, error: unknown): void {
    const message = handlerFailedMessage(entry.source, context, error);
    if (error instanceof Error && error.stack !== undefined) {
      this.logger.error(message, error.stack);
    } else {
      this.logger.error(message);
    }
  }

  // A snapshot, so a handler that registers another one does not change the running dispatch.
  private active(event: string): readonly RegisteredHandler[] {
    const cached = this.activeByEvent.get(event);
    if (cached !== undefined) return cached;
    const handlers = this.byEvent.get(event);
    if (handlers === undefined) return [];
    const role = this.role;
    const active =
      role === undefined
        ? [...handlers]
        : handlers.filter((entry) => entry.role === 'both' || entry.role === role);
    this.activeByEvent.set(event, active);
    return active;
  }
}

// Turns a synchronous throw into a rejection, so one handler's throw never stops the others.
function invoke(
  handler: DispatchHandler,
  data: unknown,
  context: DispatchContext,
): Promise<unknown> {
  try {
    return Promise.resolve(handler(data, context));
  } catch (error) {
    return Promise.reject(error);
  }
}
