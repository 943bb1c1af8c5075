#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI lives in the compiled output (`npm ci` runs the build via `prepare`).
require('../dist/src/cli/main.js').main(process.argv.slice(2)).then(
  (code) => { if (typeof code === 'number') process.exitCode = code; },
  (err) => { console.error(err && err.message ? err.message : err); process.exitCode = 1; },
);
