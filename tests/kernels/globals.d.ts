// Declarations for editors and type checkers; the AssemblyScript compiler ignores .d.ts files.
/// <reference types="assemblyscript/std/assembly/index" />
/// <reference types="@as-pect/assembly/types/as-pect" />

/** 1 in the relaxed-SIMD run, 0 in the plain SIMD run: set by `use` in the as-pect asconfigs. */
declare const SIMDNET_TEST_RELAXED: i32;
