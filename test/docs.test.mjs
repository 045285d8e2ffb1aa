// Docs stay true: the README's op table is the one the descriptors generate, every path that
// docs/ARCHITECTURE.md names exists, and every symbol the package exports has a TSDoc comment.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ak from 'attnkit';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

test('README op table matches the op descriptors (node scripts/readme-ops.js regenerates it)', () => {
  const r = spawnSync(process.execPath, ['scripts/readme-ops.js', '--check'], { cwd: root, encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr || r.stdout);
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  for (const op of ak.OP_NAMES) assert.ok(readme.includes(`| \`${ak.OPS[op].signature.replace(/\|/g, "\\|")}\``), `README lists ${op}`);
});

test('every repository path named in docs/ARCHITECTURE.md exists', () => {
  const doc = fs.readFileSync(path.join(root, 'docs/ARCHITECTURE.md'), 'utf8');
  const paths = [...doc.matchAll(/`((?:src|native|test|bench|scripts|bin|docs|examples)\/[A-Za-z0-9_./-]+)`/g)].map((m) => m[1]).filter((p) => !p.includes('<'));
  assert.ok(paths.length >= 20, `ARCHITECTURE.md names its files (found ${paths.length})`);
  const missing = [...new Set(paths)].filter((p) => !fs.existsSync(path.join(root, p.replace(/[.,:]$/, ''))));
  assert.equal(missing, [], `paths in docs/ARCHITECTURE.md that do not exist: ${missing.join(', ')}`);
});

test('every exported symbol of the package has a TSDoc comment at its declaration', () => {
  const files = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts')) files.push(p);
    }
  };
  walk(path.join(root, 'src'));
  const documented = new Map();
  for (const f of files) {
    const lines = fs.readFileSync(f, 'utf8').split('\n');
    lines.forEach((line, i) => {
      const m = line.match(/^export (?:declare )?(?:async )?(?:function|const|class|interface|type|let|abstract class) ([A-Za-z0-9_]+)/);
      if (!m) return;
      let j = i - 1;
      // Overloads: the comment stands before the first signature.
      while (j >= 0 && lines[j].startsWith(`export function ${m[1]}(`)) j--;
      const ok = j >= 0 && lines[j].trim().endsWith('*/');
      documented.set(m[1], (documented.get(m[1]) ?? false) || ok);
    });
  }
  // Runtime exports, and the type-only ones listed in src/index.ts's export blocks.
  const index = fs.readFileSync(path.join(root, 'src/index.ts'), 'utf8');
  const typeNames = [...index.matchAll(/export (?:type )?\{([^}]*)\}/g)].flatMap((m) => m[1].split(',')).map((x) => x.trim().replace(/^type /, '')).filter(Boolean);
  const exported = [...new Set([...Object.keys(ak).filter((k) => k !== 'default'), ...typeNames])];
  const undocumented = exported.filter((k) => documented.get(k) === false);
  const unknown = exported.filter((k) => !documented.has(k) && !/Error$/.test(k));
  assert.equal(undocumented, [], `exports without TSDoc: ${undocumented.join(', ')}`);
  assert.ok(unknown.length <= 3, `exports whose declaration was not found: ${unknown.join(', ')}`);
});

test.run();
