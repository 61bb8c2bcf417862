// Preloaded into a child process (NODE_OPTIONS=--require <this file>) by scripts/bench/poison-classes.ts:
// on SIGUSR2 the process prints its event-loop delay since the last SIGUSR2 to stderr as one
// "LOOP_DELAY {json}" line (ms), then starts a new window.
const { monitorEventLoopDelay } = require('node:perf_hooks');
const h = monitorEventLoopDelay({ resolution: 5 });
h.enable();
process.on('SIGUSR2', () => {
  const ms = (ns) => Math.round(ns / 1e4) / 100;
  process.stderr.write(`LOOP_DELAY ${JSON.stringify({ p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), mean: ms(h.mean) })}\n`);
  h.reset();
});
