// Checks of option objects and hyperparameters shared by every public entry point: an unknown
// option (a typo such as `epoch` for `epochs`) or a value of the wrong type is a ConfigError
// naming it, never silently ignored.

import { ConfigError, describe } from './errors.js';

/**
 * Refuses `options` that are not a plain object (undefined is fine: no options) and option names
 * `owner` does not know, suggesting the closest known name.
 */
export function checkOptions(owner: string, options: unknown, known: readonly string[]): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options) || ArrayBuffer.isView(options)) {
    throw new ConfigError(`${owner}: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const near = closest(key, known);
    throw new ConfigError(`${owner}: unknown option '${key}'${near ? ` (did you mean '${near}'?)` : ''}` +
      ` (options: ${known.join(', ')})`);
  }
}

/** A finite number for which `ok` holds; `range` words the requirement in the error. */
export function checkHyper(owner: string, name: string, value: unknown, ok: (v: number) => boolean, range: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || !ok(value)) {
    throw new ConfigError(`${owner}: ${name} must be ${range}, got ${describe(value)}`);
  }
}

/** An integer >= min (and <= max). */
export function checkInteger(owner: string, name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;
    throw new ConfigError(`${owner}: ${name} must be ${range}, got ${describe(value)}`);
  }
}

export function checkFlag(owner: string, name: string, value: unknown): void {
  if (typeof value !== 'boolean') throw new ConfigError(`${owner}: ${name} must be true or false, got ${describe(value)}`);
}

/** One of the allowed strings. */
export function checkChoice(owner: string, name: string, value: unknown, allowed: readonly string[]): void {
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw new ConfigError(`${owner}: ${name} must be ${allowed.map((a) => `'${a}'`).join(' or ')}, got ${describe(value)}`);
  }
}

/** The known name within edit distance 2 of `key`, if any. */
function closest(key: string, known: readonly string[]): string | null {
  let best: string | null = null, bestD = 3;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) { best = k; bestD = d; }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}
