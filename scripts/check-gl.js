#!/usr/bin/env node
// After `npm install` / `npm ci` in this repository (the postinstall script): one clear line when
// gl (headless-gl, which the gpu backend needs) did not build. npm itself exits 0 then, because gl
// is an optional dependency of gpu.js. Not shipped in the npm package (consumers never run it).
'use strict';
const fs = require('fs');
const path = require('path');

/** Why gl is not usable under `root`, or null when its native module is there. */
function glProblem(root) {
  const dir = path.join(root, 'node_modules', 'gl');
  if (!fs.existsSync(path.join(dir, 'package.json'))) return 'gl (headless-gl) is not installed';
  if (!fs.existsSync(path.join(dir, 'build', 'Release', 'webgl.node'))) return 'gl (headless-gl) did not build';
  return null;
}

if (require.main === module) {
  const problem = glProblem(process.argv[2] || path.join(__dirname, '..'));
  if (problem) {
    process.stderr.write(
      `attnkit: ${problem}, so the gpu backend is unavailable (its Debian packages are missing?): run bash scripts/setup.sh (or bash scripts/install-system-deps.sh, then npm rebuild gl)\n`,
    );
  }
}

module.exports = { glProblem };
