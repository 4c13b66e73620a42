/** `options` without its undefined entries, so that spreading it over defaults keeps them. */
export function withoutUndefined<T extends object>(options: T): T {
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as T;
}
