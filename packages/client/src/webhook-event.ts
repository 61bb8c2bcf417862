/** Body of a job callback (API.md "Outbound webhooks"). `data` is the job object. */
export interface WebhookEvent<TData = unknown> {
  id: string;
  type: 'job.succeeded' | 'job.failed' | 'job.cancelled' | (string & {});
  created_at: string;
  data: TData;
}
