export { startWorker } from './worker';
export type { WorkerProcess } from './worker';
