// Comparing conformance results: which leaves of two results' bits differ, which targets agree,
// and the tables the test prints (a summary per run, the relaxed tier's agreement).
import type { Result, Target } from './targets.js';

/** What must be bit-identical: the tier and the digests of both models (no names, timings, decoded values). */
export function bitsOf(r: Result, options: { withTier?: boolean } = {}): unknown {
  const strip = (m: Result['mlp']) => (m ? { ...m, values: undefined } : m);
  return { ...(options.withTier === false ? {} : { tier: r.tier }), mlp: strip(r.mlp), cnn: strip(r.cnn), wide: r.wide };
}

/** The dotted paths of the leaves where a and b differ (arrays by index). */
export function diffPaths(a: unknown, b: unknown, path = ''): string[] {
  if (a === b) return [];
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return [path || '(root)'];
  const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
  const out: string[] = [];
  for (const k of keys) {
    const sub = Array.isArray(a) ? `${path}[${k}]` : (path ? `${path}.${k}` : k);
    out.push(...diffPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], sub));
  }
  return out;
}

/** Paths with the same stem grouped: "mlp.explicit.losses[3..7]" rather than five lines. */
export function summarisePaths(paths: string[], max = 12): string {
  const groups = new Map<string, number[]>();
  for (const p of paths) {
    const m = /^(.*)\[(\d+)\]$/.exec(p);
    const key = m ? m[1] : p;
    if (!groups.has(key)) groups.set(key, []);
    if (m) groups.get(key)!.push(Number(m[2]));
  }
  const parts = [...groups].map(([k, idx]) => (idx.length ? `${k}[${idx.join(',')}]` : k));
  return parts.length > max ? `${parts.slice(0, max).join(', ')}, ... (${parts.length - max} more)` : parts.join(', ');
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

/** One line per run: target, runtime, version, entry, tier, relaxed support, digest of the whole result, milliseconds. */
export function summaryTable(results: { target: Target; result?: Result; failure?: string }[]): string {
  const rows = [['target', 'runtime', 'version', 'entry', 'tier', 'relaxed-simd', 'digest', 'ms']];
  for (const { target, result: r, failure } of results) {
    if (!r) { rows.push([target, '-', '-', '-', '-', '-', `FAILED: ${(failure ?? '').split('\n')[0].slice(0, 80)}`, '-']); continue; }
    rows.push([target, r.runtime.name, r.runtime.version, r.runtime.entry, r.error ? `${r.tier} (refused)` : r.tier,
      r.features ? String(r.features.relaxedSimd) : '?', r.error ? r.error.slice(0, 80) : r.digest ?? '?', String(r.ms ?? '-')]);
  }
  return table(rows);
}

/**
 * The relaxed tier's agreement: targets grouped by identical bits (A, B, ...), a matrix of which
 * agree with which, whether each equals the simd tier's bits (tier label aside: an engine that
 * does not fuse relaxed_madd computes the simd tier's values), and what differs between groups.
 */
export function agreementReport(relaxed: Map<Target, Result>, simd: Map<Target, Result>): { text: string; groups: Target[][] } {
  const targets = [...relaxed.keys()].filter((t) => !relaxed.get(t)!.error);
  const keyOf = (t: Target) => JSON.stringify(bitsOf(relaxed.get(t)!));
  const groups: Target[][] = [];
  for (const t of targets) {
    const g = groups.find((g) => keyOf(g[0]) === keyOf(t));
    if (g) g.push(t); else groups.push([t]);
  }
  const letter = (t: Target) => String.fromCharCode(65 + groups.findIndex((g) => g.includes(t)));
  const rows = [['relaxed', 'group', ...targets.map((_, i) => String(i + 1)), '= simd bits']];
  targets.forEach((t, i) => {
    const s = simd.get(t);
    const sameAsSimd = s && !s.error ? (JSON.stringify(bitsOf(s, { withTier: false })) === JSON.stringify(bitsOf(relaxed.get(t)!, { withTier: false })) ? 'yes' : 'no') : '?';
    rows.push([`${i + 1} ${t}`, letter(t), ...targets.map((u) => (keyOf(t) === keyOf(u) ? '=' : 'x')), sameAsSimd]);
  });
  const lines = [table(rows)];
  for (const t of relaxed.keys()) if (relaxed.get(t)!.error) lines.push(`${t}: refused the relaxed tier: ${relaxed.get(t)!.error}`);
  for (let i = 1; i < groups.length; i++) {
    const paths = diffPaths(bitsOf(relaxed.get(groups[0][0])!), bitsOf(relaxed.get(groups[i][0])!));
    lines.push(`group A (${groups[0].join(', ')}) vs ${String.fromCharCode(65 + i)} (${groups[i].join(', ')}): ${paths.length} items differ: ${summarisePaths(paths)}`);
  }
  return { text: lines.join('\n'), groups };
}
