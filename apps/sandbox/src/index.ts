export { createSandboxServer } from './sandbox-server';
export type { SandboxServer, SandboxServerOptions } from './sandbox-server';
export type { SandboxRequest } from './provider-mcp-server';
export { createProviderMcpServer } from './provider-mcp-server';
export type { ProviderMcpServerOptions } from './provider-mcp-server';
export { credentialsFromHeaders, credentialsFromEnv, credentialHeaderName } from './credentials';
