// Shared by the conformance scripts: JSON lines out on stdout, commands in on stdin, SDK logs on
// stderr. The Go tests in this directory start a script, read what it reports and drive it.
'use strict';
const readline = require('node:readline');

// out writes one report line for the Go test.
function out(obj) {
  process.stdout.write(`${JSON.stringify({ ...obj, t: Date.now() })}\n`);
}

// env returns a required environment variable, or ends the script.
function env(name) {
  const v = process.env[name];
  if (!v) {
    out({ ev: 'fatal', error: `missing environment variable ${name}` });
    process.exit(2);
  }
  return v;
}

// commands calls handle(cmd) for each JSON line on stdin; stdin closing ends the script.
function commands(handle, onEnd) {
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', async (line) => {
    try {
      await handle(JSON.parse(line));
    } catch (err) {
      out({ ev: 'fatal', error: String(err && err.stack ? err.stack : err) });
      process.exit(1);
    }
  });
  rl.on('close', () => (onEnd ? onEnd() : process.exit(0)));
}

// logger sends the SDKs' logs to stderr, where the Go test shows them when it fails.
const logger = {
  level: 'debug',
  name: 'sdk',
  debug: (...m) => process.stderr.write(`DEBUG ${m.join(' ')}\n`),
  info: (...m) => process.stderr.write(`INFO ${m.join(' ')}\n`),
  warn: (...m) => process.stderr.write(`WARN ${m.join(' ')}\n`),
  error: (...m) => process.stderr.write(`ERROR ${m.join(' ')}\n`),
  setLevel(l) {
    this.level = l;
  },
  getLevel() {
    return this.level;
  },
  setName(n) {
    this.name = n;
  },
};

process.on('unhandledRejection', (err) => {
  out({ ev: 'fatal', error: `unhandled rejection: ${err && err.stack ? err.stack : err}` });
  process.exit(1);
});
process.on('uncaughtException', (err) => {
  out({ ev: 'fatal', error: `uncaught exception: ${err && err.stack ? err.stack : err}` });
  process.exit(1);
});

module.exports = { out, env, commands, logger };
