export interface CredentialField {
  name: string;
  secret: boolean;
  required: boolean;
}

export interface CatalogTool {
  name: string;
  description: string;
  /** JSON Schema of the input (`type: "object"`), when known without asking the server (sessions' tool lists). */
  input_schema?: Record<string, unknown>;
}

/** Header values are templates such as `Bearer {{secret_key}}`. */
export interface HttpTransportTemplate {
  type: 'http';
  url: string;
  headers: Record<string, string>;
}

/** Env values are templates; the child gets ONLY these plus PATH (never our own environment). */
export interface StdioTransportTemplate {
  type: 'stdio';
  command: string;
  args: string[];
  env: Record<string, string>;
}

export type TransportTemplate = HttpTransportTemplate | StdioTransportTemplate;

export interface CatalogEntry {
  /** Lowercase `[a-z0-9-]`: no `/` or `_`, so `<server>/<tool>` and `<server>__<tool>` parse unambiguously. */
  id: string;
  name: string;
  description: string;
  category: string;
  sandbox: boolean;
  credential_fields: CredentialField[];
  /** Static list for GET /v1/servers; a live session lists tools from the server itself. */
  tools: CatalogTool[];
  transport: TransportTemplate;
}

export interface Catalog {
  list(): CatalogEntry[];
  get(id: string): CatalogEntry | undefined;
}
