import type { ToolCallRecord } from '@agents/runtime';

/**
 * Bridges the runtime's synchronous metering hook to the step checkpoint: the runtime hands over
 * the record before `execute` resolves, and the processor takes it to write it in the same
 * transaction as the step. Entries not taken (a run that died) are dropped after `maxEntries`.
 */
export function createMeterBuffer(maxEntries = 10_000) {
  const records = new Map<string, ToolCallRecord>();
  return {
    meter(record: ToolCallRecord): void {
      records.set(record.tool_call_id, record);
      if (records.size > maxEntries) records.delete(records.keys().next().value!);
    },
    take(toolCallId: string): ToolCallRecord | undefined {
      const r = records.get(toolCallId);
      records.delete(toolCallId);
      return r;
    },
  };
}
