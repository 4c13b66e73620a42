import { describeValue } from '../common/describe-value.js';
import type { DispatchContext } from './dispatch-context.interface.js';

/** `@OnDispatch` was given no event, an empty name, or something that is not a string. */
export function invalidEventMessage(where: string, event: unknown): string {
  return (
    `@OnDispatch on ${where} needs one or more non-empty event names; got ${describeValue(event)}. ` +
    "Pass a string such as 'STATS' or an array of them."
  );
}

/** `@OnDispatch` was put on something other than an instance method (a getter, a static method). */
export function notAMethodMessage(where: string): string {
  return (
    `@OnDispatch can only decorate an instance method of a provider, and ${where} is not one. ` +
    'Move it to a non-static method.'
  );
}

/** A role option or a current role outside the allowed values. */
export function invalidRoleMessage(
  where: string,
  role: unknown,
  allowed: readonly string[],
): string {
  return `${where} has role ${describeValue(role)}; expected one of ${allowed.map((r) => `'${r}'`).join(', ')}.`;
}

/** A provider with `@OnDispatch` methods cannot be registered because it is not a singleton. */
export function requestScopedHandlerMessage(provider: string, methods: readonly string[]): string {
  return (
    `${provider} is request-scoped or transient with request-scoped dependencies, so its ` +
    `@OnDispatch methods (${methods.join(', ')}) are not registered: a dispatch has no request to ` +
    'resolve it for. Make the provider a singleton (the default scope) and keep request-scoped ' +
    'dependencies out of it.'
  );
}

/** A dispatch handler threw or rejected. */
export function handlerFailedMessage(
  source: string,
  context: DispatchContext,
  error: unknown,
): string {
  const kind = context.isRequest ? 'request' : 'event';
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : describeValue(error);
  const sender = typeof context.from === 'number' ? `instance ${context.from}` : context.from;
  return `${source} failed on ${kind} "${context.event}" from ${sender}: ${reason}`;
}
