// What the workerd entry's `import m from './x.wasm'` gives: a compiled module (workerd and
// wrangler compile .wasm imports ahead of time).
declare module '*.wasm' {
  const module: WebAssembly.Module;
  export default module;
}
