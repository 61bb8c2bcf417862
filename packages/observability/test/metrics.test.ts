import { createMetrics, OTHER_TENANT, scrapeAuthorized } from '../src';

test('tenant labels are capped: tenants past the cap share tenant="_other" and totals stay exact', async () => {
  const m = createMetrics({ process: 'test', maxTenantLabels: 2, defaultMetrics: false });
  for (const t of ['a', 'b', 'c', 'd', 'a']) m.jobsSubmitted.inc({ tenant: m.tenant(t), type: 'workflow', environment: 'live' });
  const values = (await m.jobsSubmitted.get()).values.map((v) => [v.labels.tenant, v.value]);
  expect(Object.fromEntries(values)).toEqual({ a: 2, b: 1, [OTHER_TENANT]: 2 });
  // A tenant admitted early keeps its own label.
  expect(m.tenant('a')).toBe('a');
  expect(m.tenant('e')).toBe(OTHER_TENANT);
});

test('each registry is separate and every series carries its process label', async () => {
  const a = createMetrics({ process: 'api', maxTenantLabels: 10, defaultMetrics: false });
  const b = createMetrics({ process: 'worker', maxTenantLabels: 10, defaultMetrics: false });
  a.refusals.inc({ tenant: a.tenant('t1'), reason: 'rate_limited' });
  expect(await a.registry.metrics()).toMatch(/agents_refusals_total\{tenant="t1",reason="rate_limited",process="api"\} 1/);
  expect(await b.registry.metrics()).not.toMatch(/agents_refusals_total\{/);
});

test('scrape auth accepts only an allowed bearer token', () => {
  expect(scrapeAuthorized('Bearer token_one_0123456789', ['token_one_0123456789', undefined])).toBe(true);
  expect(scrapeAuthorized('Bearer token_two_0123456789', ['token_one_0123456789', undefined])).toBe(false);
  expect(scrapeAuthorized(undefined, ['token_one_0123456789'])).toBe(false);
  expect(scrapeAuthorized('Basic dXNlcjpwYXNz', ['token_one_0123456789'])).toBe(false);
});
