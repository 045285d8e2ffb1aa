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
      if (b.details) out.write(`${''.padEnd(10)} ${JSON.stringify(b.details)}\n`);
    } else {
      out.write(`${b.name.padEnd(10)} UNAVAILABLE: ${b.reason}\n`);
      if (b.fix) out.write(`${''.padEnd(10)} fix: ${b.fix}\n`);
    }
  }
}

module.exports = { machineFacts, printInfo };
