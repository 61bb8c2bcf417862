/**
 * Where a job's terminal event is delivered (API.md "Outbound webhooks"): the job's own
 * `callback_url` when it was given, else the tenant's `webhook_url`. A job given an empty
 * `callback_url` opted out: no delivery, not even to the tenant's URL. Null means the event is only
 * recorded (redeliverable once a URL exists). The one rule for the finish's outbox write and for a
 * redelivery; it is decided when the delivery is created, so a URL changed later never redirects an
 * event that already happened.
 */
export function jobEventTarget(job: { callback_url: string | null }, tenant: { webhook_url: string | null } | undefined): string | null {
  if (job.callback_url !== null) return job.callback_url || null;
  return tenant?.webhook_url || null;
}
