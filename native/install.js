#!/usr/bin/env node
// attnkit's install script (`npm install` / `npm ci`, in this repository and as a dependency):
// 1. node-gyp-build: load a prebuilt addon binary if one fits, else build the addon from source;
// 2. one clear line when gl (headless-gl, which the gpu backend needs) did not build: npm exits 0
//    then, because gl is an optional dependency of gpu.js, and its own output is long.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

/** Why gl is not usable for a package installed at `dir`, or null when its native module is there. */
function glProblem(dir) {
  let gl;
  try {
    gl = path.dirname(require.resolve('gl/package.json', { paths: [dir] }));
  } catch {
    return 'gl (headless-gl) is not installed';
  }
  if (!fs.existsSync(path.join(gl, 'build', 'Release', 'webgl.node'))) return 'gl (headless-gl) did not build';
  return null;
}

/** The fix to name: this repository's setup script, or (as a dependency) the packages gl needs. */
function glFix(dir) {
  if (fs.existsSync(path.join(dir, 'scripts', 'setup.sh'))) return 'run bash scripts/setup.sh (or bash scripts/install-system-deps.sh, then npm rebuild gl)';
  return 'install its build packages (Debian/Ubuntu: build-essential python-is-python3 pkg-config libx11-dev libxi-dev libxext-dev libgl1-mesa-dev), then npm rebuild gl';
}

if (require.main === module) {
  const dir = process.argv[2] || path.join(__dirname, '..');
  if (!process.argv[2]) {
    const r = spawnSync(process.execPath, [require.resolve('node-gyp-build/bin.js')], { cwd: dir, stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
  const problem = glProblem(dir);
  if (problem) process.stderr.write(`attnkit: ${problem}, so the gpu backend is unavailable: ${glFix(dir)}\n`);
}

module.exports = { glProblem };
