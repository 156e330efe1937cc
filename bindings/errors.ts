// One error family. Every check runs before any state changes, so a thrown error leaves the
// model, its weights and its optimizer state exactly as they were. Whatever the platform throws
// on simdnet's behalf (a TypeError from a bad argument, a CompileError, ENOENT) is wrapped in the
// matching class with the original as `cause`.
//
// Each class sets `name` to a string literal: a minifier renames classes, and `new.target.name`
// would then report "M" instead of "ShapeError".

export interface SimdnetErrorOptions { cause?: unknown }

export class SimdnetError extends Error {
  constructor(message: string, options?: SimdnetErrorOptions) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'SimdnetError';
  }
}

/** A tensor's shape or length does not fit the layer, model or loss it is given to. */
export class ShapeError extends SimdnetError {
  constructor(message: string, options?: SimdnetErrorOptions) { super(message, options); this.name = 'ShapeError'; }
}

/** Input values are unusable: labels out of range or not integers, NaN / Infinity, empty batch, wrong types. */
export class InputError extends SimdnetError {
  constructor(message: string, options?: SimdnetErrorOptions) { super(message, options); this.name = 'InputError'; }
}

/** A hyperparameter or option is unknown, of the wrong type or out of its valid range. */
export class ConfigError extends SimdnetError {
  constructor(message: string, options?: SimdnetErrorOptions) { super(message, options); this.name = 'ConfigError'; }
}

/** A computation produced NaN or Infinity (loss or gradients); the step was not applied. */
export class NumericError extends SimdnetError {
  constructor(message: string, options?: SimdnetErrorOptions) { super(message, options); this.name = 'NumericError'; }
}

/** The WebAssembly memory could not grow to the size a plan needs, or a size is past wasm32's 4 GiB. */
export class MemoryError extends SimdnetError {
  constructor(message: string, options?: SimdnetErrorOptions) { super(message, options); this.name = 'MemoryError'; }
}

/** A file or buffer is not in the expected format (corrupt, truncated, not a wasm module). */
export class FormatError extends SimdnetError {
  constructor(message: string, options?: SimdnetErrorOptions) { super(message, options); this.name = 'FormatError'; }
}

/**
 * A call came in the wrong state: fit before compile, use before init or after dispose, a second
 * call on a model while its fit is running, backward without a forward.
 */
export class StateError extends SimdnetError {
  constructor(message: string, options?: SimdnetErrorOptions) { super(message, options); this.name = 'StateError'; }
}

/** A short description of any value for error messages: its type, and its value when small. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return value.length > 40 ? `a string of length ${value.length}` : `'${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor?.name ?? 'typed array'}`;
  const tag = Object.prototype.toString.call(value).slice(8, -1);
  return tag === 'Object' ? 'an object' : `a ${tag}`;
}
