'use strict';
// `attnkit info`: every backend with availability and reason, ISA, threads, GL renderer, versions.
const os = require('os');
const ak = require('../dist/cjs/index.js');

function version(pkg) {
  try {
    return require(`${pkg}/package.json`).version;
  } catch {
    return null;
  }
}

/**
 * The native ISA levels of this architecture and whether this CPU can run each: a level it lacks
 * is not tested on this machine (its test jobs are listed as not run), so say so.
 */
function isaLevels() {
  let detected = null;
  try {
    detected = ak.nativeInfo().detectedIsa;
  } catch {
    return null; // native unavailable: its reason is in the backend list
  }
  const order = process.arch === 'arm64' ? ['scalar', 'neon'] : ['scalar', 'avx2', 'avx512'];
  const top = order.indexOf(detected);
  return order.map((level, i) => ({ level, here: i <= top }));
}

function machineFacts() {
  const list = ak.backends();
  const native = list.find((b) => b.name === 'native');
  const gpu = list.find((b) => b.name === 'gpu');
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown CPU',
    cores: os.availableParallelism ? os.availableParallelism() : os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${process.platform}-${process.arch}`,
    versions: {
      attnkit: require('../package.json').version,
      node: process.versions.node,
      'gpu.js': version('gpu.js'),
      gl: version('gl'),
      'onnxruntime-node': version('onnxruntime-node'),
      '@tensorflow/tfjs': version('@tensorflow/tfjs'),
      benchmark: version('benchmark'),
    },
    native: native && native.available ? `${native.isa ?? '?'} x ${native.threads ?? '?'} threads` : null,
    gl: gpu && gpu.available ? gpu.renderer ?? 'available' : null,
    isaLevels: isaLevels(),
    backends: list,
  };
}

function printInfo(facts, out = process.stdout) {
  out.write(`attnkit ${facts.versions.attnkit} on ${facts.platform}, ${facts.cpu}, ${facts.cores} cores, ${facts.memoryGiB} GiB\n`);
  out.write(`versions: ${Object.entries(facts.versions).map(([k, v]) => `${k} ${v ?? '(not installed)'}`).join(', ')}\n\n`);
  for (const b of facts.backends) {
    if (b.available) {
      const extra = [b.isa && `isa ${b.isa}`, b.threads && `${b.threads} threads`, b.renderer && `renderer ${b.renderer}`].filter(Boolean).join(', ');
      out.write(`${b.name.padEnd(10)} available${extra ? ` (${extra})` : ''}; ops: ${b.ops.join(', ')}\n`);
      if (b.name === 'native' && facts.isaLevels) {
        const missing = facts.isaLevels.filter((l) => !l.here).map((l) => l.level);
        out.write(`${''.padEnd(10)} ISA levels: ${facts.isaLevels.map((l) => l.level).join(', ')}; ${missing.length ? `NOT on this CPU, so not tested here: ${missing.join(', ')}` : 'every one runs (and is tested) here'}\n`);
      }
      if (b.details) out.write(`${''.padEnd(10)} ${JSON.stringify(b.details)}\n`);
    } else {
      out.write(`${b.name.padEnd(10)} UNAVAILABLE: ${b.reason}\n`);
      if (b.fix) out.write(`${''.padEnd(10)} fix: ${b.fix}\n`);
    }
  }
}

module.exports = { machineFacts, printInfo };
