/**
 * Runtime overhead benchmark (packages/runtime): session create+close on a warm pool and the
 * per-call overhead of `session.execute`, each as a ratio to a bare MCP SDK client call measured
 * in the same run. The implementation lives with the runtime package so it resolves the MCP SDK
 * through that package's dependencies.
 * Run: npx tsx scripts/bench/runtime.ts [calls=2000]
 */
import { runAsBundle } from '../../apps/bench/src/bundles';
import { runBench } from '../../packages/runtime/bench/runtime-bench';

// Bundled and run under plain Node (the runtime as the worker bundle ships it), never under tsx.
if (!runAsBundle(__filename)) runBench();
