// Values come from users and from peers: a message shows enough of one to recognise it, never an
// unbounded dump of it.
const MAX_STRING = 64;
const MAX_ITEMS = 8;
const MAX_DEPTH = 2;

/**
 * A short, readable rendering of any value for an error or log message: strings quoted (cut at
 * 64 characters, with their length), `-0` and bigints (`5n`) kept apart from other numbers,
 * arrays and plain objects shown two levels deep with at most 8 entries, anything else by kind
 * (`a function`, `an instance of Date`). Never throws, also not on cycles or hostile getters.
 *
 * Do not pass secrets: what it is given, it shows.
 */
export function describeValue(value: unknown): string {
  return describe(value, 0);
}

function describe(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      return value.length <= MAX_STRING
        ? JSON.stringify(value)
        : `${JSON.stringify(value.slice(0, MAX_STRING))}… (${value.length} characters)`;
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${value}n`;
    case 'function':
      return 'a function';
    case 'symbol':
      return value.toString();
    case 'object':
      if (value === null) return 'null';
      try {
        return describeObject(value, depth);
      } catch {
        // A proxy or a getter that throws.
        return 'an object';
      }
    default:
      return String(value);
  }
}

function describeObject(value: object, depth: number): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    if (depth >= MAX_DEPTH) return `[… (${count(value.length, 'item')})]`;
    const shown = value.slice(0, MAX_ITEMS).map((item: unknown) => describe(item, depth + 1));
    if (value.length > MAX_ITEMS) shown.push(`… (${count(value.length, 'item')})`);
    return `[${shown.join(', ')}]`;
  }
  const prototype = Object.getPrototypeOf(value) as object | null;
  if (prototype !== Object.prototype && prototype !== null) {
    const name = (prototype.constructor as { name?: unknown } | undefined)?.name;
    return typeof name === 'string' && name.length > 0 ? `an instance of ${name}` : 'an object';
  }
  const keys = Object.keys(value);
  if (keys.length === 0) return '{}';
  if (depth >= MAX_DEPTH) return `{… (${count(keys.length, 'key')})}`;
  const shown = keys
    .slice(0, MAX_ITEMS)
    .map(
      (key) =>
        `${JSON.stringify(key)}: ${describe((value as Record<string, unknown>)[key], depth + 1)}`,
    );
  if (keys.length > MAX_ITEMS) shown.push(`… (${count(keys.length, 'key')})`);
  return `{${shown.join(', ')}}`;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
