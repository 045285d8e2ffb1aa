// The C++ sources of the addon, for binding.gyp (<!@(node native/sources.js)) — CMakeLists.txt
// globs the same three trees. Adding a file under native/{src,kernels,bindings} is all it takes.
'use strict';
const fs = require('fs');
const path = require('path');

function walk(dir, out) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith('.cc')) out.push(p);
  }
  return out;
}

const root = path.join(__dirname, '..');
const files = [];
for (const d of ['src', 'kernels', 'bindings']) walk(path.join(__dirname, d), files);
// Paths relative to the repository root, forward slashes (gyp wants relative paths).
console.log(files.map((f) => path.relative(root, f).split(path.sep).join('/')).join(' '));
