#!/usr/bin/env node
// The `istio-lite` executable (package.json `bin`, what `npx istio-lite` runs). In a checkout it
// runs the TypeScript sources, as `npm start` does, with no build step; a published package ships
// only the compiled dist/ and runs that.
import { existsSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';

const sources = new URL('../cli/main.ts', import.meta.url);
const built = new URL('../dist/cli/main.js', import.meta.url);
const fromSources = existsSync(sources);
if (fromSources && process.features.typescript === undefined) {
  process.stderr.write(
    `istio-lite: Node ${process.version} cannot run TypeScript; use Node 24 (npx and npm scripts ` +
      'use the pinned one from node_modules/.bin), or run `npm run build` and `node dist/cli/main.js`\n',
  );
  process.exit(1);
}
const cli = await import((fromSources ? sources : built).href);
process.exitCode = await cli.runFromCommandLine();
