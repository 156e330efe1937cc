// One error family. Every check runs before any state changes, so a thrown error leaves the
// model, its weights and its optimizer state exactly as they were.

export class SimdnetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A tensor's shape or length does not fit the layer, model or loss it is given to. */
export class ShapeError extends SimdnetError {}

/** Input values are unusable: labels out of range or not integers, NaN / Infinity, empty batch. */
export class InputError extends SimdnetError {}

/** A hyperparameter or option is out of its valid range. */
export class ConfigError extends SimdnetError {}

/** A computation produced NaN or Infinity (loss or gradients); the step was not applied. */
export class NumericError extends SimdnetError {}

/** The WebAssembly memory could not grow to the size a plan needs. */
export class MemoryError extends SimdnetError {}

/** A file or buffer is not in the expected format (corrupt or truncated). */
export class FormatError extends SimdnetError {}

/** A call came in the wrong state: fit before compile, use before init, use after dispose. */
export class StateError extends SimdnetError {}
