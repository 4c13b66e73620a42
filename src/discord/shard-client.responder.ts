import { describeValue } from '../common/describe-value.js';
import { serializeError } from '../ipc/packet-channel.js';
import {
  type BroadcastEvalPayload,
  type FetchClientValuePayload,
  type ShardClientReply,
} from './discordjs-shard.constants.js';
import { BroadcastEvalDisabledError, ShardClientCallError } from './discordjs-shard.errors.js';

/** The function a `broadcastEval` script evaluates to. */
type EvalFunction = (client: object, context: unknown) => unknown;

/**
 * Checks a property path as `fetchClientValues` takes it (`guilds.cache.size`) and returns its
 * keys; throws {@link ShardClientCallError} for anything else.
 */
export function propertyPathKeys(path: unknown): string[] {
  if (typeof path !== 'string' || path === '') {
    throw new ShardClientCallError(
      `fetchClientValues() takes a property path of the client such as 'guilds.cache.size', ` +
        `not ${describeValue(path)}.`,
    );
  }
  const keys = path.split('.');
  if (keys.includes('')) {
    throw new ShardClientCallError(
      `The property path ${describeValue(path)} has an empty segment; write keys joined by ` +
        `single dots, e.g. 'guilds.cache.size'.`,
    );
  }
  return keys;
}

/**
 * Walks `path` from `client`, reading one property after the other: getters run, functions are
 * never called. Throws {@link ShardClientCallError} where the path breaks off (a key read on
 * `undefined` or `null`); a missing last key gives `undefined`, as in discord.js.
 */
export function readPropertyPath(client: object, path: unknown): unknown {
  let value: unknown = client;
  let walked = 'client';
  for (const key of propertyPathKeys(path)) {
    if (value === undefined || value === null) {
      throw new ShardClientCallError(
        `${walked} is ${String(value)}, so the property path '${String(path)}' breaks off ` +
          `before '${key}'.`,
      );
    }
    value = (value as Record<string, unknown>)[key];
    walked += `.${key}`;
  }
  return value;
}

/**
 * The value as JSON carries it between processes (what discord.js's own IPC does too: a
 * `Collection` becomes an array, a function or `undefined` becomes `undefined`). A value JSON
 * cannot carry (a bigint, a cycle) fails here with {@link ShardClientCallError}, in the instance
 * that read it, instead of breaking the reply on the wire.
 */
export function toWireValue(value: unknown, what: string): unknown {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new ShardClientCallError(
      `${what} cannot be sent to another process as JSON (${(error as Error).message}). ` +
        'Ask for a part of it that JSON can carry, such as a count or a list of ids.',
      { cause: error },
    );
  }
  return text === undefined ? undefined : JSON.parse(text);
}

/**
 * The instance side of `client.shard`: answers the other instances' `fetchClientValues` and
 * (when allowed) `broadcastEval` calls with this instance's discord.js client. Every failure is
 * an answer naming this instance, never a thrown handler error.
 */
export class ShardClientResponder {
  constructor(
    private readonly client: object,
    private readonly instance: number,
    private readonly allowBroadcastEval: boolean,
  ) {}

  /** Reads a property path of the client (`FetchClientValuePayload`). */
  fetchClientValue(data: unknown): ShardClientReply {
    try {
      const path = (data as Partial<FetchClientValuePayload> | null)?.path;
      const value = readPropertyPath(this.client, path);
      return { instance: this.instance, value: toWireValue(value, `client.${String(path)}`) };
    } catch (error) {
      return { instance: this.instance, error: serializeError(error) };
    }
  }

  /** Runs a `broadcastEval` function with the client (`BroadcastEvalPayload`), if allowed here. */
  async evaluate(data: unknown): Promise<ShardClientReply> {
    try {
      if (!this.allowBroadcastEval)
        throw new BroadcastEvalDisabledError(`instance ${this.instance}`);
      const { script, context } = (data ?? {}) as Partial<BroadcastEvalPayload>;
      const value = await evaluateScript(script)(this.client, context);
      return { instance: this.instance, value: toWireValue(value, 'The broadcastEval result') };
    } catch (error) {
      return { instance: this.instance, error: serializeError(error) };
    }
  }
}

function evaluateScript(script: unknown): EvalFunction {
  if (typeof script !== 'string') {
    throw new ShardClientCallError(
      `broadcastEval() got no function source: ${describeValue(script)}.`,
    );
  }
  // Indirect eval, in the global scope: what the user opted into with allowBroadcastEval, and
  // the only way to run a function sent as text, as discord.js does.
  // oxlint-disable-next-line no-eval
  const globalEval = eval;
  const fn: unknown = globalEval(`(${script})`);
  if (typeof fn !== 'function') {
    throw new ShardClientCallError('broadcastEval() got a source that is not a function.');
  }
  return fn as EvalFunction;
}
