// What README.md tells a consumer to do, read from the file itself so that an edit of the README
// is what the consumer tests run: the code blocks marked `<!-- consumer-test: NAME -->`, the
// install command of "Use it in a project", and the inline esbuild command line.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/package.js';

export function readme(): string {
  return readFileSync(join(repoRoot, 'README.md'), 'utf8');
}

/** The body of the fenced block that immediately follows `<!-- consumer-test: name -->` (exactly one). */
export function markedBlock(text: string, name: string): { lang: string; code: string } {
  const marker = `<!-- consumer-test: ${name} -->`;
  const count = text.split(marker).length - 1;
  if (count !== 1) throw new Error(`README.md has ${count} "${marker}" markers; the consumer tests need exactly one`);
  const after = text.slice(text.indexOf(marker) + marker.length);
  const m = /^[ \t]*\r?\n(`{3,})([\w-]*)[^\n]*\n([\s\S]*?)\n\1[ \t]*(?:\r?\n|$)/.exec(after);
  if (!m) throw new Error(`README.md: "${marker}" is not immediately followed by a fenced code block`);
  return { lang: m[2], code: `${m[3]}\n` };
}

/** The text of a `## heading` section, up to the next `## `. */
export function section(text: string, heading: string): string {
  const start = text.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`README.md has no "## ${heading}" section`);
  const rest = text.slice(start + heading.length + 5);
  const end = rest.search(/\n## /);
  return end < 0 ? rest : rest.slice(0, end);
}

/**
 * The packages named by the `npm install` commands of the first ```sh block under "Use it in a
 * project" (comments and flags dropped, versions stripped: `simdnet@0.1` is simdnet).
 */
export function installedPackages(text: string): string[] {
  const m = /```(?:sh|bash|shell)\n([\s\S]*?)\n```/.exec(section(text, 'Use it in a project'));
  if (!m) throw new Error('README.md: no ```sh block under "Use it in a project"');
  const names: string[] = [];
  let commands = 0;
  for (const raw of m[1].split('\n')) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) continue;
    const cmd = /^npm\s+(?:install|i|add)(\s.*)?$/.exec(line);
    if (!cmd) throw new Error(`README.md install block: "${line}" is not an npm install command the consumer test knows how to run`);
    commands++;
    for (const arg of (cmd[1] ?? '').trim().split(/\s+/).filter(Boolean)) {
      if (arg.startsWith('-')) continue;
      names.push(arg.replace(/^(@?[^@]+)@.*$/, '$1'));
    }
  }
  if (commands === 0) throw new Error('README.md install block has no npm install command');
  return names;
}

/** The inline `esbuild ...` command lines of the README (e.g. `esbuild app.js --bundle --outfile=out.js`). */
export function esbuildCommands(text: string): string[][] {
  return [...text.matchAll(/`(esbuild [^`]+)`/g)].map((m) => m[1].trim().split(/\s+/));
}
