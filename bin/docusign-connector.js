#!/usr/bin/env node
'use strict';
// The `docusign-connector` executable: the CLI is TypeScript, run through tsx (a runtime dependency; no build step).
require('tsx/cjs');
require('../client/cli.ts').main(process.argv);
