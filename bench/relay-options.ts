/**
 * How the benchmark runs relay365: the built relay, as `npm start` runs it, so
 * memory and speed are production figures. `BENCH_CPU_PROF=DIR` makes each
 * relay write a V8 CPU profile into DIR when it stops (open it in Chrome's
 * DevTools, Performance tab).
 */
import path from 'node:path';
import type { StartOptions } from '../test/helpers/relay-process.js';

const profileDir = process.env.BENCH_CPU_PROF;

export const BENCH_RELAY: StartOptions = {
  built: true,
  nodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profileDir)}`] : [],
};
