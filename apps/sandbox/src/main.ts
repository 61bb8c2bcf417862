import { loadConfigOrExit } from '@agents/config';
import { runService } from '@agents/observability';
import { createSandboxServer } from './sandbox-server';

/** Wiring only: SANDBOX_PORT and LOG_LEVEL from the shared config; SIGTERM/SIGINT → close → exit 0. */
const config = loadConfigOrExit(process.env);
// The insecure-default warnings concern the operator key and vault, which the sandbox never uses.
runService('sandbox', { ...config, warnings: [] }, (logger) => createSandboxServer({ port: config.sandboxPort, logger }));
