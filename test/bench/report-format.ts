// Small helpers of the fleet and discord sections: environment sizes and markdown tables.

/** A positive integer from the environment variable `name`, else `fallback`. */
export function envInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

/** A comma-separated list of positive integers from `name`, else `fallback`. */
export function envIntegers(name: string, fallback: number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  return raw.split(',').map((item) => {
    const value = Number(item.trim());
    if (!Number.isSafeInteger(value) || value < 1)
      throw new Error(`${name} must list positive integers, got "${raw}"`);
    return value;
  });
}

/**
 * The names listed (comma-separated) in the environment variable `name`, each one of `known`,
 * in `known`'s order; all of `known` when it is unset.
 */
export function envChoices<T extends string>(name: string, known: readonly T[]): T[] {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return [...known];
  const chosen = raw.split(',').map((item) => item.trim());
  for (const item of chosen) {
    if (!known.includes(item as T))
      throw new Error(`${name} lists "${item}"; known: ${known.join(', ')}`);
  }
  return known.filter((item) => chosen.includes(item));
}

/** A markdown table; every column but the first is right-aligned. */
export function markdown(headers: string[], rows: string[][]): string {
  return [
    `| ${headers.join(' | ')} |`,
    `|${headers.map((_, index) => (index === 0 ? '---' : '---:')).join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}

/** A number with `digits` decimals, or `n/a`. */
export function fixed(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

/** A ratio as `1.23x`, or `n/a`. */
export function ratio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}x` : 'n/a';
}

/** Bytes as MiB with one decimal. */
export function mib(bytes: number): string {
  return fixed(bytes / 1024 / 1024);
}

/** Bytes as MiB, rounded to two decimals, for the JSON file. */
export function toMiB(bytes: number): number {
  return round2(bytes / 1024 / 1024);
}

/** Rounds to two decimals, for the JSON file. */
export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** Counts of several runs: one value when they agree, else every run's; `-` for none. */
export function perRun(values: number[] | null): string {
  if (values === null) return '-';
  const distinct = new Set(values);
  return distinct.size === 1 ? String(values[0]) : values.join(', ');
}
