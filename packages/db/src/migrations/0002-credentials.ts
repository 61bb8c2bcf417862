import type { Migration } from '../migrator';

/**
 * Envelope-encrypted tenant credentials (DESIGN.md decision 6): one data key per tenant, wrapped by
 * the master key (kid says which); one sealed secret per (tenant, server, environment).
 */
export const m0002Credentials: Migration = {
  id: '0002-credentials',
  sql: `
CREATE TABLE tenant_data_keys (
  tenant_id   text PRIMARY KEY REFERENCES tenants(id),
  kid         text NOT NULL,
  wrapped     text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  rotated_at  timestamptz
);

CREATE TABLE credentials (
  tenant_id    text NOT NULL REFERENCES tenants(id),
  server       text NOT NULL,
  environment  text NOT NULL CHECK (environment IN ('test','live')),
  sealed       jsonb NOT NULL,
  fields       text[] NOT NULL,
  version      text NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, server, environment)
);
`,
};
