import type { Migration } from '../migrator';

/**
 * Platform keys (`csk_test_…` / `csk_live_…`, issue 22): one key for a whole SaaS, acting in its
 * environment as the tenant key of any tenant. A table of their own rather than `api_keys` with a
 * nullable `tenant_id`: every tenant-key query filters on `tenant_id` and its foreign key keeps a
 * tenant key bound to a real tenant; with NULLs allowed, each of those queries (and any written
 * later) would have to remember that a key without a tenant is one for every tenant. Here a row
 * cannot be mistaken for the other kind, and a lookup by hash names the kind it found.
 * Only a SHA-256 of the key is stored; `prefix` is what lists show.
 */
export const m0012PlatformKeys: Migration = {
  id: '0012-platform-keys',
  sql: `
CREATE TABLE platform_keys (
  id            text PRIMARY KEY,
  environment   text NOT NULL CHECK (environment IN ('test','live')),
  name          text,
  prefix        text NOT NULL,
  key_hash      text NOT NULL UNIQUE,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  revoked_at    timestamptz
);
CREATE INDEX platform_keys_live ON platform_keys (created_at DESC, id DESC) WHERE revoked_at IS NULL;
`,
};
