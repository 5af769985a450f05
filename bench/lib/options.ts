// Command-line options of the benchmarks, as node:util parseArgs reads them (strings).

/** Option `--name` as a whole number of at least `min`; throws naming the option otherwise. */
export function wholeNumberOption<K extends string>(
  values: Partial<Record<K, unknown>>,
  name: K,
  min: number,
): number {
  const value = Number(values[name]);
  if (!Number.isInteger(value) || value < min) throw new Error(`--${name} must be a whole number >= ${min}`);
  return value;
}
