import type { Migration } from '../migrator';

/**
 * Automations per environment (API.md "Inbound provider webhooks and automations"; DESIGN.md 15).
 * Until now a tenant had one list (tenants.automations), which a test key could write and a live
 * provider webhook then ran with live credentials. Now each (tenant, environment) has its own list:
 * a key writes its own environment's, and a hook for environment E runs only E's.
 *
 * Existing lists are copied into BOTH environments: the hook route ran the one list for whichever
 * environment the hook named, so each list was in effect in test and in live; keeping it in both
 * changes nothing a deployed tenant sees until someone writes one environment's list. Tenants with
 * an empty list get no rows (no row reads as an empty list).
 *
 * tenants.automations is no longer read or written by this release. It stays for now because the
 * previous release, still running during a rolling deploy, names it on every tenant insert; a later
 * migration drops it.
 */
export const m0007AutomationsPerEnvironment: Migration = {
  id: '0007-automations-per-environment',
  sql: `
CREATE TABLE tenant_automations (
  tenant_id    text NOT NULL REFERENCES tenants(id),
  environment  text NOT NULL CHECK (environment IN ('test','live')),
  automations  jsonb NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, environment)
);

INSERT INTO tenant_automations (tenant_id, environment, automations, updated_at)
SELECT t.id, e.environment, t.automations, t.updated_at
  FROM tenants t CROSS JOIN (VALUES ('test'), ('live')) AS e(environment)
 WHERE t.automations <> '[]'::jsonb;
`,
};
