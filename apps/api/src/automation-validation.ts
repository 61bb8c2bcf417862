import type { Automation } from '@agents/db';
import type { Catalog } from '@agents/runtime';
import { AUTOMATION_EVENTS, EVENT_FIELDS, isAutomationEvent } from '@agents/webhooks';
import type { ErrorDetail } from './errors';

const REFERENCE = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;

export interface AutomationValidationDeps {
  catalog: Pick<Catalog, 'get'>;
}

/** Every `{{...}}` path inside a step's args, with the JSON path it was found at. */
function references(value: unknown, path: string, out: { at: string; ref: string }[]): void {
  if (typeof value === 'string') {
    for (const m of value.matchAll(REFERENCE)) out.push({ at: path, ref: m[1]! });
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => references(v, `${path}.${i}`, out));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) references(v, `${path}.${k}`, out);
  }
}

/**
 * Checks automations when they are saved (PUT /v1/tenants/{tid}/automations and PATCH of the
 * tenant), so a mistake is a 400 now rather than a failed job at 3 a.m.:
 * - `on` is an event we emit (`payment.confirmed`);
 * - each step's server is one of the tenant's servers, and its tool exists in that server's catalog entry;
 * - each `{{event.<field>}}` names a field of that event, and each `{{steps.N...}}` an earlier step.
 * Returns the problems (empty when valid); `prefix` is the JSON path of the list in the request.
 */
export function validateAutomations(
  deps: AutomationValidationDeps,
  automations: readonly Automation[],
  tenantServers: readonly string[],
  prefix = 'body.automations',
): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  automations.forEach((a, i) => {
    const known = isAutomationEvent(a.on);
    if (!known) problems.push({ path: `${prefix}.${i}.on`, message: `unknown event "${a.on}"; known: ${AUTOMATION_EVENTS.join(', ')}` });
    a.steps.forEach((step, j) => {
      const at = `${prefix}.${i}.steps.${j}`;
      const slash = step.tool.indexOf('/');
      const server = step.tool.slice(0, slash);
      const tool = step.tool.slice(slash + 1);
      if (!tenantServers.includes(server)) {
        problems.push({ path: `${at}.tool`, message: `"${step.tool}" is not on one of the tenant's servers` });
      } else {
        const entry = deps.catalog.get(server);
        // An entry that lists no tools statically (a real server discovered at connect time) cannot be checked here.
        if (!entry) problems.push({ path: `${at}.tool`, message: `server "${server}" is not in the catalog` });
        else if (entry.tools.length && !entry.tools.some((t) => t.name === tool)) {
          problems.push({ path: `${at}.tool`, message: `server "${server}" has no tool "${tool}"` });
        }
      }
      const refs: { at: string; ref: string }[] = [];
      references(step.args, `${at}.args`, refs);
      for (const { at: where, ref } of refs) {
        const [root, second] = ref.split('.');
        if (root === 'event') {
          if (known && (!second || !EVENT_FIELDS[a.on as keyof typeof EVENT_FIELDS].includes(second))) {
            problems.push({ path: where, message: `{{${ref}}}: "${a.on}" has no field "${second ?? ''}"` });
          }
        } else if (root === 'steps') {
          const n = Number(second);
          if (!/^\d+$/.test(second ?? '') || n >= j) problems.push({ path: where, message: `{{${ref}}} must name an earlier step (0..${j - 1})` });
        } else {
          problems.push({ path: where, message: `{{${ref}}}: references start with "event." or "steps."` });
        }
      }
    });
  });
  return problems;
}
