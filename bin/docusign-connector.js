#!/usr/bin/env node
'use strict';
// The `docusign-connector` executable. Where tsx is installed (a development checkout: tsx is a devDependency) it runs
// the TypeScript sources, so it never runs a stale build; elsewhere (the Docker image, `npm ci --omit=dev`) it runs
// the compiled CLI from `npm run build`.
const path = require('node:path');
const { existsSync } = require('node:fs');

const root = path.join(__dirname, '..');
const sources = path.join(root, 'client', 'cli.ts');
const compiled = path.join(root, 'dist', 'client', 'cli.js');

function tsxInstalled() {
  try {
    require.resolve('tsx', { paths: [root] });
    return true;
  } catch {
    return false;
  }
}

if (existsSync(sources) && tsxInstalled()) {
  // tsx's loader handles require() and import() of .ts files alike (the commands load theirs with import()).
  import('tsx').then(() => require(sources).main(process.argv));
} else if (existsSync(compiled)) {
  require(compiled).main(process.argv);
} else {
  console.error('docusign-connector: no compiled CLI (dist/client/cli.js): run `npm run build`, or install tsx');
  process.exit(1);
}
