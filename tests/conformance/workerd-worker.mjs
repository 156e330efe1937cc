// workerd: bundled by esbuild with the workerd export condition; the package's workerd entry
// imports simdnet.wasm and simdnet-relaxed.wasm, which the config lists as wasm modules.
// GET /?tier=simd|relaxed[&threads=N] answers with the suite's result as JSON; GET /ready with 'ok'.
import * as simdnet from 'simdnet';
import { run } from './suite.mjs';

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === '/ready') return new Response('ok');
    const tier = url.searchParams.get('tier') ?? 'simd';
    try {
      return Response.json(await run(simdnet, { tier, threads: Number(url.searchParams.get('threads') ?? 1) }));
    } catch (e) {
      return Response.json({ thrown: `${e?.name}: ${e?.message}\n${e?.stack ?? ''}` }, { status: 500 });
    }
  },
};
