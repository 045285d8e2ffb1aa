// attnkit as a dependency: `npm pack` the repo, install the tarball into empty projects in a temp
// directory the way users do, and check what they get.
//
// - the tarball holds dist/, bin/, bench/, the native sources + binding.gyp + CMakeLists.txt,
//   prebuilds/ when present, README, LICENSE, package.json, and no tests, sources or build outputs;
// - source install (no prebuilt binary): the install script (node-gyp-build) compiles the addon;
//   `require` and `import` give one shared instance and the same backends; the CLI runs; a
//   TypeScript consumer (node16, CJS and ESM) compiles against the shipped types, and a wrong call
//   does not; native sdpa verifies against reference;
// - prebuilt install: a tarball carrying prebuilds/<platform>-<arch>/ (made by scripts/prebuild.sh,
//   i.e. prebuildify --napi --strip) installs without compiling and loads the prebuilt binary; with
//   an npm 11 `allowScripts` approval npm prints no install-script warning;
// - `npm install --ignore-scripts` with no prebuilt binary: the package imports, reference works,
//   and backends() reports native unavailable with the reason and the fix; running that fix makes
//   native available.
//
// Installs use the npm registry only, through the local npm cache (--prefer-offline), and
// --omit=optional: gpu.js's optional dependency gl (headless-gl) would otherwise try a prebuilt
// download from GitHub and then compile ANGLE from source (1-2 minutes); without it the gpu backend
// reports itself unavailable in these projects, which the test also checks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'attnkit-pack-'));
const logs = path.join(root, 'artifacts', 'pack');
const target = `${process.platform}-${process.arch}`;
const tsc = path.join(root, 'node_modules', '.bin', 'tsc');
fs.mkdirSync(logs, { recursive: true });

// A user's environment: none of the npm-run variables of the `npm test` that may have started us,
// and nothing that changes how installs behave.
const env = { ...process.env, JOBS: process.env.JOBS || '2' };
for (const k of Object.keys(env)) {
  if (/^npm_(lifecycle_|package_|command$|execpath$|node_execpath$)/i.test(k) || /^npm_config_(build_from_source|ignore_scripts|omit|include|global|prefix|dry_run|production|only|workspaces?|save.*|offline|cache_max|local_prefix)$/i.test(k) || k === 'INIT_CWD') {
    delete env[k];
  }
}
delete env.ATTNKIT_NATIVE_PATH;
delete env.ATTNKIT_ISA;

function sh(cmd, args, { cwd, log, timeout = 10 * 60 * 1000, extraEnv } = {}) {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd, env: { ...env, ...extraEnv }, encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 });
  const out = `$ ${cmd} ${args.join(' ')}   (in ${cwd})\n${r.stdout || ''}${r.stderr || ''}${r.error ? `\nerror: ${r.error.message}` : ''}\nexit ${r.status}, ${((Date.now() - t0) / 1000).toFixed(1)} s\n`;
  if (log) fs.writeFileSync(path.join(logs, log), out);
  return { status: r.status, out, stdout: r.stdout || '', seconds: (Date.now() - t0) / 1000 };
}
const tail = (s, n = 40) => s.split('\n').slice(-n).join('\n');
const mustPass = (r, what) => assert.ok(r.status === 0, `${what} failed:\n${tail(r.out)}`);

function npmPackJson(cwd, dest, log) {
  fs.mkdirSync(dest, { recursive: true });
  const r = sh('npm', ['pack', '--json', '--pack-destination', dest], { cwd, log });
  mustPass(r, `npm pack in ${cwd}`);
  const json = JSON.parse(r.stdout)[0];
  return { file: path.join(dest, json.filename), files: json.files.map((f) => f.path), size: json.size };
}

function makeApp(name, extra = {}) {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, ...extra }, null, 2));
  return dir;
}

function install(dir, tarball, log, flags = []) {
  return sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--omit=optional', ...flags, tarball], { cwd: dir, log });
}

// What a consumer's code sees, from require (check.cjs) and from import (check.mjs).
const CHECK_CJS = `
const ak = require('attnkit');
const b = ak.backends().map((x) => ({ name: x.name, available: x.available, reason: x.reason && x.reason.split('\\nRequire stack')[0], fix: x.fix }));
const ni = ak.nativeInfo();
const out = { kind: 'require', backends: b, nativePath: ni.available ? ni.path : null, exports: Object.keys(ak).length };
if (process.argv[2] === 'sdpa') {
  const rnd = (n, s) => { const a = new Float32Array(n); for (let i = 0; i < n; i++) { s = (s * 1103515245 + 12345) >>> 0; a[i] = s / 2 ** 31 - 1; } return a; };
  const T = (shape, s) => ({ data: rnd(shape.reduce((x, y) => x * y, 1), s), shape });
  const reports = [];
  const onReport = (r) => reports.push(r);
  const q = T([2, 4, 33, 64], 1), k = T([2, 2, 70, 64], 2), v = T([2, 2, 70, 48], 3);
  ak.sdpa(q, k, v, null, { backend: 'native', verify: true, onReport });
  ak.sdpa(q, k, v, { causal: true, keyLengths: new Int32Array([70, 41]), returnLse: true }, { backend: 'native', verify: true, onReport });
  const ref = ak.sdpa(q, k, v, null, { backend: 'reference' });
  const nat = ak.sdpa(q, k, v, null, { backend: 'native' });
  let maxAbs = 0;
  for (let i = 0; i < ref.data.length; i++) maxAbs = Math.max(maxAbs, Math.abs(ref.data[i] - nat.data[i]));
  out.sdpa = { reports: reports.map((r) => ({ backend: r.backend, verify: r.verify })), maxAbs, n: ref.data.length };
}
console.log(JSON.stringify(out));
`;
const CHECK_MJS = `
import * as ak from 'attnkit';
import def from 'attnkit';
import { createRequire } from 'node:module';
const cjs = createRequire(import.meta.url)('attnkit');
const b = ak.backends().map((x) => ({ name: x.name, available: x.available, reason: x.reason && x.reason.split('\\nRequire stack')[0], fix: x.fix }));
console.log(JSON.stringify({
  kind: 'import',
  backends: b,
  sameInstance: ak.sdpa === cjs.sdpa && def === cjs && ak.backends === cjs.backends,
  exports: Object.keys(ak).filter((k) => k !== 'default').length,
}));
`;
// A TypeScript consumer, CommonJS (.cts) and ESM (.mts), plus a file that must NOT compile.
const TS_OK = `
import { sdpa, backends, tensor, BackendUnavailableError, type Tensor, type BackendInfo, type AttentionOutput } from 'attnkit';
const q: Tensor = tensor(new Float32Array(1 * 2 * 3 * 4), [1, 2, 3, 4]);
const out: Tensor = sdpa(q, q, q, { causal: true }, { backend: 'reference', verify: true });
const both: AttentionOutput = sdpa(q, q, q, { returnWeights: true });
const lse: Float32Array | undefined = sdpa(q, q, q, { returnLse: true }).lse?.data as Float32Array | undefined;
const names: string[] = backends().map((b: BackendInfo) => b.name);
const e: unknown = new BackendUnavailableError('native', 'reason', 'fix');
export { out, both, lse, names, e };
`;
const TS_BAD = `
import { sdpa, tensor } from 'attnkit';
const q = tensor(new Float32Array(24), [1, 2, 3, 4]);
export const out: string = sdpa(q, q);
`;

let sourceTgz;
let prebuiltTgz;
let repoPack;

test('npm pack ships dist, bin, bench, examples (attnkit train), native sources and build files, README, LICENSE; no tests or build outputs', () => {
  for (const f of ['dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/esm/index.mjs', 'dist/browser/attnkit.mjs']) {
    assert.ok(fs.existsSync(path.join(root, f)), `${f} is missing: run npm run build first`);
  }
  repoPack = npmPackJson(root, tmp, 'pack-repo.log');
  const files = repoPack.files;
  const has = (p) => files.includes(p);
  for (const p of ['package.json', 'README.md', 'LICENSE', 'binding.gyp', 'CMakeLists.txt', 'native/sources.js', 'bin/attnkit.js', 'bench/cli.js', 'dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/esm/index.mjs', 'dist/esm/index.d.mts', 'dist/browser/attnkit.mjs', 'dist/browser/attnkit.d.mts', 'dist/cjs/backends/reference/worker.js', 'examples/sasrec/cli.js', 'examples/sasrec/model.js', 'examples/sasrec/data.js']) {
    assert.ok(has(p), `the tarball lacks ${p}`);
  }
  assert.ok(files.some((p) => p.startsWith('native/kernels/') && p.endsWith('.cc')), 'no native kernel sources');
  assert.ok(files.some((p) => p.startsWith('native/include/') && p.endsWith('.h')), 'no native headers');
  const bad = files.filter((p) => /^(test|src|scripts|build|build-cmake|artifacts|node_modules|\.ci)\//.test(p) || /\.(map|tgz|o|a)$/.test(p) || (p.endsWith('.node') && !p.startsWith('prebuilds/')) || p === 'tsconfig.json' || p === 'package-lock.json');
  assert.equal(bad, [], 'files that must not ship');
  const pre = files.filter((p) => p.startsWith('prebuilds/'));
  console.log(`tarball ${path.basename(repoPack.file)}: ${files.length} files, ${(repoPack.size / 1024).toFixed(0)} KiB${pre.length ? `, prebuilt: ${pre.join(', ')}` : ', no prebuilt binary'}`);
});

test('a tarball without and one with a prebuilt binary (scripts/prebuild.sh: prebuildify --napi --strip)', () => {
  const unpack = (tgz, dir) => {
    fs.mkdirSync(dir, { recursive: true });
    mustPass(sh('tar', ['xzf', tgz, '-C', dir], { cwd: tmp }), 'tar');
    return path.join(dir, 'package');
  };
  const repoHasPrebuilt = repoPack.files.some((p) => p.startsWith(`prebuilds/${target}/`) && p.endsWith('.node'));
  if (repoHasPrebuilt) {
    // Release flow (npm run prebuilds, then npm pack): the repo's tarball is the prebuilt one.
    prebuiltTgz = repoPack.file;
    const pkg = unpack(repoPack.file, path.join(tmp, 'unpacked-source'));
    fs.rmSync(path.join(pkg, 'prebuilds'), { recursive: true, force: true });
    sourceTgz = npmPackJson(pkg, path.join(tmp, 'source'), 'pack-source.log').file;
  } else {
    sourceTgz = repoPack.file;
    const pkg = unpack(repoPack.file, path.join(tmp, 'unpacked-prebuilt'));
    const r = sh('bash', [path.join(root, 'scripts/prebuild.sh'), path.join(pkg, 'prebuilds')], { cwd: root, log: 'prebuild.log' });
    mustPass(r, 'scripts/prebuild.sh');
    console.log(`prebuild.sh: ${r.seconds.toFixed(0)} s; ${(r.stdout.split('\n').find((l) => l.startsWith('prebuild: /')) || '').replace(/^prebuild: /, '')}`);
    const made = fs.readdirSync(path.join(pkg, 'prebuilds', target)).filter((f) => f.endsWith('.node'));
    assert.ok(made.length === 1, `prebuilds/${target}: ${made.join(', ')}`);
    const p = npmPackJson(pkg, path.join(tmp, 'prebuilt'), 'pack-prebuilt.log');
    assert.ok(p.files.includes(`prebuilds/${target}/${made[0]}`), 'the repacked tarball lacks the prebuilt binary');
    prebuiltTgz = p.file;
  }
});

test('source install: the install script builds the addon; require and import share one instance with the same backends; the CLI runs', () => {
  const app = makeApp('app-source');
  const r = install(app, sourceTgz, 'install-source.log');
  mustPass(r, 'npm install (source build)');
  const pkgDir = path.join(app, 'node_modules', 'attnkit');
  assert.ok(fs.existsSync(path.join(pkgDir, 'build', 'Release', 'attnkit.node')), `no build/Release/attnkit.node: the addon was not compiled on install\n${tail(r.out)}`);
  console.log(`source install (compiles the addon): ${r.seconds.toFixed(0)} s`);
  // npm 11's install-script policy: attnkit was not approved here, so npm names it (advisory in npm 11.x: the script still ran).
  if (/install-scripts/.test(r.out)) assert.match(r.out, /attnkit@[\d.]+ \(install: node native\/install\.js\)/);
  fs.writeFileSync(path.join(app, 'check.cjs'), CHECK_CJS);
  fs.writeFileSync(path.join(app, 'check.mjs'), CHECK_MJS);
  const c = sh(process.execPath, ['check.cjs'], { cwd: app, log: 'source-require.log' });
  mustPass(c, 'require');
  const m = sh(process.execPath, ['check.mjs'], { cwd: app, log: 'source-import.log' });
  mustPass(m, 'import');
  const rc = JSON.parse(c.stdout);
  const im = JSON.parse(m.stdout);
  assert.equal(im.backends, rc.backends, 'import and require report different backends');
  assert.ok(im.sameInstance, 'import and require give different module instances');
  assert.is(im.exports, rc.exports);
  assert.equal(rc.backends.map((b) => b.name).sort(), ['gpu', 'native', 'reference']);
  const nat = rc.backends.find((b) => b.name === 'native');
  assert.ok(nat.available, `native unavailable after a source install: ${nat.reason}`);
  assert.is(rc.nativePath, path.join(pkgDir, 'build', 'Release', 'attnkit.node'));
  // gl was omitted (--omit=optional): the gpu backend must say so, with a fix, not throw.
  const gpu = rc.backends.find((b) => b.name === 'gpu');
  assert.is(gpu.available, false);
  assert.match(gpu.reason, /gl/);
  assert.ok(gpu.fix, 'gpu: no fix given');
  const cli = sh(path.join(app, 'node_modules', '.bin', 'attnkit'), ['info'], { cwd: app, log: 'source-cli.log', extraEnv: { ATTNKIT_NO_XVFB: '1' } });
  mustPass(cli, 'npx attnkit info');
  assert.match(cli.out, /native\s+available/);
});

test('source install: a TypeScript consumer compiles against the shipped types (node16; CJS and ESM), and a wrong call does not', () => {
  const app = path.join(tmp, 'app-source');
  fs.writeFileSync(path.join(app, 'consumer.cts'), TS_OK);
  fs.writeFileSync(path.join(app, 'consumer.mts'), TS_OK);
  const args = ['--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022', '--strict', '--noEmit', '--skipLibCheck', 'false', '--typeRoots', path.join(root, 'node_modules', '@types'), '--types', 'node'];
  // ESM also has a default export (the whole namespace), typed.
  fs.writeFileSync(path.join(app, 'consumer-default.mts'), "import ak from 'attnkit';\nexport const t: ak.Tensor = ak.random([1, 2]);\n");
  const ok = sh(tsc, [...args, 'consumer.cts', 'consumer.mts', 'consumer-default.mts'], { cwd: app, log: 'tsc-ok.log' });
  mustPass(ok, 'tsc on the consumer');
  fs.writeFileSync(path.join(app, 'bad.mts'), TS_BAD);
  const bad = sh(tsc, [...args, 'bad.mts'], { cwd: app, log: 'tsc-bad.log' });
  assert.is.not(bad.status, 0, 'a call with a missing argument compiled: the types are not reaching the consumer');
  assert.match(bad.out, /TS2554|TS2769|TS2345/, `unexpected tsc errors:\n${tail(bad.out)}`);
});

test('source install: a browser bundler gets the browser build (exports "browser" condition), typed, with no Node-only code', () => {
  const app = path.join(tmp, 'app-source');
  fs.writeFileSync(path.join(app, 'web.mts'), `import { sdpa, backends, tensor, type Tensor } from 'attnkit';\nimport * as viaSubpath from 'attnkit/browser';\nconst q: Tensor = tensor(new Float32Array(8), [1, 1, 2, 4]);\nexport const out: Tensor = sdpa(q, q, q, null, { backend: 'gpu' });\nexport const names = backends().map((b) => b.name);\nexport const same = viaSubpath.sdpa === sdpa;\n`);
  // A browser project: DOM lib, no @types/node.
  fs.writeFileSync(path.join(app, 'tsconfig.web.json'), JSON.stringify({ compilerOptions: { module: 'node16', moduleResolution: 'node16', target: 'es2022', lib: ['es2022', 'dom'], types: [], strict: true, noEmit: true, skipLibCheck: false }, files: ['web.mts'] }));
  const types = sh(tsc, ['-p', 'tsconfig.web.json'], { cwd: app, log: 'tsc-browser.log' });
  mustPass(types, 'tsc on the browser consumer (no @types/node)');
  fs.writeFileSync(path.join(app, 'web.mjs'), `import { sdpa, backends } from 'attnkit';\nimport * as viaSubpath from 'attnkit/browser';\nexport { sdpa, backends, viaSubpath };\n`);
  const esb = sh(path.join(root, 'node_modules', '.bin', 'esbuild'), ['web.mjs', '--bundle', '--format=esm', '--platform=browser', '--metafile=web.meta.json', '--outfile=web.bundle.mjs', '--log-level=warning'], { cwd: app, log: 'esbuild-browser.log' });
  mustPass(esb, 'esbuild --platform=browser on a consumer');
  const inputs = Object.keys(JSON.parse(fs.readFileSync(path.join(app, 'web.meta.json'), 'utf8')).inputs);
  assert.equal(inputs.filter((p) => p.includes('attnkit')), ['node_modules/attnkit/dist/browser/attnkit.mjs'], 'the bundler did not pick (only) the browser build');
  const code = fs.readFileSync(path.join(app, 'web.bundle.mjs'), 'utf8');
  // Strings that only exist in the native loader and the headless-gl host.
  for (const nodeOnly of ['no native addon binary found', 'headless-gl could not create a GL context', 'prebuilds']) {
    assert.not.ok(code.includes(nodeOnly), `Node-only code in the browser bundle: "${nodeOnly}"`);
  }
});

test('source install: native sdpa verifies against reference', () => {
  const app = path.join(tmp, 'app-source');
  const c = sh(process.execPath, ['check.cjs', 'sdpa'], { cwd: app, log: 'source-sdpa.log' });
  mustPass(c, 'native sdpa');
  const r = JSON.parse(c.stdout).sdpa;
  assert.is(r.reports.length, 2);
  for (const rep of r.reports) {
    assert.is(rep.backend, 'native');
    assert.ok(rep.verify && rep.verify.passed && rep.verify.rowsChecked === rep.verify.rowsTotal && rep.verify.elementsChecked > 0, JSON.stringify(rep.verify));
  }
  console.log(`native sdpa in the installed package: verify passed, max |native - reference| ${r.maxAbs.toExponential(2)} over ${r.n} outputs`);
});

test('prebuilt install: no compile on install, the prebuilt binary loads, and an allowScripts approval silences npm', () => {
  // npm 11 matches approvals against the dependency's resolved identity: for a tarball that is
  // file:<absolute path> (what `npm install-scripts approve attnkit` writes); for the registry, attnkit.
  const app = makeApp('app-prebuilt', { allowScripts: { [`file:${prebuiltTgz}`]: true } });
  const r = install(app, prebuiltTgz, 'install-prebuilt.log');
  mustPass(r, 'npm install (prebuilt)');
  const pkgDir = path.join(app, 'node_modules', 'attnkit');
  assert.not.ok(fs.existsSync(path.join(pkgDir, 'build')), `the addon was compiled although a prebuilt binary fits:\n${tail(r.out)}`);
  assert.not.match(r.out, /install-scripts/, 'npm still warns about attnkit\'s install script despite allowScripts');
  console.log(`prebuilt install: ${r.seconds.toFixed(0)} s`);
  fs.writeFileSync(path.join(app, 'check.cjs'), CHECK_CJS);
  const c = sh(process.execPath, ['check.cjs', 'sdpa'], { cwd: app, log: 'prebuilt-require.log' });
  mustPass(c, 'require (prebuilt)');
  const rc = JSON.parse(c.stdout);
  assert.ok(rc.nativePath && rc.nativePath.startsWith(path.join(pkgDir, 'prebuilds', target) + path.sep), `native loaded from ${rc.nativePath}`);
  for (const rep of rc.sdpa.reports) assert.ok(rep.verify.passed, JSON.stringify(rep.verify));
});

test('--ignore-scripts and no prebuilt binary: imports, reference works, native unavailable with the reason and the fix', () => {
  const app = makeApp('app-ignore-scripts');
  const r = install(app, sourceTgz, 'install-ignore-scripts.log', ['--ignore-scripts']);
  mustPass(r, 'npm install --ignore-scripts');
  const pkgDir = path.join(app, 'node_modules', 'attnkit');
  assert.not.ok(fs.existsSync(path.join(pkgDir, 'build')), 'something was built despite --ignore-scripts');
  assert.not.ok(fs.existsSync(path.join(pkgDir, 'prebuilds')), 'the source tarball carries prebuilds');
  fs.writeFileSync(path.join(app, 'check.cjs'), CHECK_CJS);
  fs.writeFileSync(path.join(app, 'check.mjs'), CHECK_MJS);
  const c = sh(process.execPath, ['check.cjs'], { cwd: app, log: 'ignore-scripts-require.log' });
  mustPass(c, 'require (--ignore-scripts)');
  const m = sh(process.execPath, ['check.mjs'], { cwd: app, log: 'ignore-scripts-import.log' });
  mustPass(m, 'import (--ignore-scripts)');
  const rc = JSON.parse(c.stdout);
  const im = JSON.parse(m.stdout);
  assert.equal(im.backends, rc.backends);
  const nat = rc.backends.find((b) => b.name === 'native');
  assert.ok(nat, 'native is not listed');
  assert.is(nat.available, false);
  assert.match(nat.reason, /no native addon binary found/);
  assert.ok(nat.fix && /build:native|rebuild/.test(nat.fix), `fix: ${nat.fix}`);
  assert.ok(rc.backends.find((b) => b.name === 'reference').available);
  const ref = sh(process.execPath, ['-e', "const ak = require('attnkit'); const t = ak.tensor(new Float32Array(8).fill(0.5), [1, 1, 2, 4]); const o = ak.sdpa(t, t, t); process.stdout.write(String(o.data[0]));"], { cwd: app });
  mustPass(ref, 'reference sdpa (--ignore-scripts)');
  assert.is(Number(ref.stdout), 0.5);
  const bad = sh(process.execPath, ['-e', "const ak = require('attnkit'); const t = ak.tensor(new Float32Array(8), [1, 1, 2, 4]); try { ak.sdpa(t, t, t, null, { backend: 'native' }); } catch (e) { process.stdout.write(e.name + ' ' + e.code); }"], { cwd: app });
  assert.match(bad.stdout, /BackendUnavailableError ERR_ATTNKIT_BACKEND_UNAVAILABLE/);
  console.log(`--ignore-scripts: native unavailable: ${nat.reason.slice(0, 80)}...; fix: ${nat.fix}`);
  // The fix it names works: `npm run build:native` in the installed package's directory.
  assert.ok(nat.fix.includes(pkgDir), `the fix does not name the package directory: ${nat.fix}`);
  const fix = sh('npm', ['run', 'build:native'], { cwd: pkgDir, log: 'ignore-scripts-fix.log' });
  mustPass(fix, 'the fix (npm run build:native in the package)');
  const after = sh(process.execPath, ['check.cjs', 'sdpa'], { cwd: app, log: 'ignore-scripts-after-fix.log' });
  mustPass(after, 'require after the fix');
  const ra = JSON.parse(after.stdout);
  assert.ok(ra.backends.find((b) => b.name === 'native').available, 'native still unavailable after the fix');
  for (const rep of ra.sdpa.reports) assert.ok(rep.verify.passed, JSON.stringify(rep.verify));
  console.log(`--ignore-scripts: the fix (npm run build:native) took ${fix.seconds.toFixed(0)} s and native sdpa verifies`);
});

test.after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

test.run();
