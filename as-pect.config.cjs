// as-pect configuration for the AssemblyScript kernel unit tests (tests/kernels/*.spec.ts).
//
// `npm run test:kernels` runs the suite twice, once per shipped build flavour:
//   asp --config as-pect.config.cjs --as-config tests/kernels/as-pect.asconfig.json          (simd, -O3)
//   asp --config as-pect.config.cjs --as-config tests/kernels/as-pect.relaxed.asconfig.json  (simd + relaxed-simd, -O3)
// Compiler options live in those asconfig files (as-pect's JS config cannot carry compiler flags).
//
// as-pect compiles and instantiates in this process, so V8 flags set here apply to the test
// modules. Node 20 validates relaxed-SIMD opcodes only behind this flag (NODE_OPTIONS refuses it);
// it must be set before the first WebAssembly compile and is harmless for the plain SIMD run.
require("node:v8").setFlagsFromString("--experimental-wasm-relaxed-simd");

// Say which build flavour this run is (as-pect's own banner does not).
{
  const argv = process.argv;
  const i = argv.findIndex((a) => a === "--as-config" || a === "-a");
  const asconfig = i >= 0 ? argv[i + 1] : "./as-pect.asconfig.json";
  process.stdout.write(`simdnet kernel tests, asconfig: ${asconfig}\n`);
}

module.exports = {
  entries: ["tests/kernels/**/*.spec.ts"],
  include: ["tests/kernels/**/*.include.ts"],
  disclude: [/node_modules/],
  async instantiate(memory, createImports, instantiate, binary) {
    return instantiate(binary, createImports({ env: { memory } }));
  },
  outputBinary: false,
};
