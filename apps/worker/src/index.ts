export { startWorker } from './worker';
export type { WorkerProcess, StartWorkerOptions } from './worker';
