export { createApp } from './app';
export type { ApiDeps } from './app';
export { ApiError, ERROR_STATUS } from './errors';
export type { ErrorCode } from './errors';
export { startApi } from './server';
export type { ApiServer } from './server';
