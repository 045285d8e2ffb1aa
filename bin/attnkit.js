#!/usr/bin/env node
'use strict';
// attnkit CLI entry. headless-gl (the gpu backend in Node) needs an X display: with none, re-run
// this command under `xvfb-run` when it is installed, so `npx attnkit bench` covers the gpu too.
const { spawnSync } = require('child_process');

if (!process.env.DISPLAY && !process.env.ATTNKIT_NO_XVFB && process.platform === 'linux') {
  const probe = spawnSync('sh', ['-c', 'command -v xvfb-run'], { encoding: 'utf8' });
  if (probe.status === 0) {
    const r = spawnSync('xvfb-run', ['-a', '-s', '-screen 0 1x1x24 -nolisten tcp', process.execPath, __filename, ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, ATTNKIT_NO_XVFB: '1' },
    });
    process.exit(r.status ?? 1);
  }
}

require('../bench/cli.js')
  .main()
  .then((code) => process.exit(code), (e) => {
    console.error(e && e.stack ? e.stack : e);
    process.exit(1);
  });
