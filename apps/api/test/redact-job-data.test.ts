import { REDACTED, redactSecrets } from '../src/admin/redact-job-data';

test('Bull Board job data: secret-looking keys and key-shaped strings are masked, ids kept', () => {
  const data = {
    job_id: 'job_1',
    tenant_id: 'tenant_acme',
    nested: { api_key: 'x', webhook_secret: 'y', Authorization: 'Bearer z', list: [{ password: 'p', ok: 1 }] },
    note: 'key ak_live_ABCDEFGHijklmnop1234567890abcd leaked',
    platform: 'csk_test_ABCDEFGHijklmnop1234567890abcdefgh',
    values: { api_key: 'v' },
  };
  expect(redactSecrets(data)).toEqual({
    job_id: 'job_1',
    tenant_id: 'tenant_acme',
    nested: { api_key: REDACTED, webhook_secret: REDACTED, Authorization: REDACTED, list: [{ password: REDACTED, ok: 1 }] },
    note: REDACTED,
    platform: REDACTED,
    values: REDACTED,
  });
});
