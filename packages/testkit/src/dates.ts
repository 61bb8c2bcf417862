/**
 * Calendar dates relative to the wall clock, for request bodies that reach a provider which checks
 * them against today (the sandbox refuses an Asaas `dueDate` in the past). A fixed date in a test
 * expires; this one never does.
 */
export function isoDateFromNow(days: number, now: Date = new Date()): string {
  return new Date(now.getTime() + days * 86_400_000).toISOString().slice(0, 10);
}
