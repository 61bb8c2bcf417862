/**
 * The one callback-URL rule (API.md "Outbound webhooks"), used by the finish's outbox write and by
 * a redelivery: the job's own callback_url, else the tenant's webhook_url; an empty callback_url
 * opts the job out entirely.
 */
import { jobEventTarget } from '@agents/webhooks';

const tenant = { webhook_url: 'https://hooks.example.com/tenant' };

test.each<[string, { callback_url: string | null }, { webhook_url: string | null } | undefined, string | null]>([
  ['the job’s callback_url wins over the tenant’s URL', { callback_url: 'https://cb.example.com/x?y=1' }, tenant, 'https://cb.example.com/x?y=1'],
  ['no callback_url: the tenant’s URL', { callback_url: null }, tenant, 'https://hooks.example.com/tenant'],
  ['a callback_url and a tenant without a URL', { callback_url: 'https://cb.example.com/only' }, { webhook_url: null }, 'https://cb.example.com/only'],
  ['an empty callback_url: no delivery, not the tenant’s URL either', { callback_url: '' }, tenant, null],
  ['neither: recorded only', { callback_url: null }, { webhook_url: null }, null],
  ['a tenant whose URL was cleared to empty: recorded only', { callback_url: null }, { webhook_url: '' }, null],
  ['the tenant is gone: only the job’s own URL counts', { callback_url: null }, undefined, null],
])('%s', (_name, job, t, expected) => {
  expect(jobEventTarget(job, t)).toBe(expected);
});
