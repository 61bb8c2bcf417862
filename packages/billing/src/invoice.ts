import type { InvoiceLine, TenantPlan } from '@agents/db';
import { add, formatDecimal, formatMoney, multiply, parseDecimal, round, shiftLeft } from './decimal';
import type { Decimal } from './decimal';

/** A tenant's billable (live) usage for one period, as read from usage_rollups. */
export interface BillableUsage {
  /** Tool calls that reached a provider (denied calls are never billed). */
  tool_calls: number;
  input_tokens: number;
  output_tokens: number;
}

export interface ComputedInvoice {
  currency: string;
  lines: InvoiceLine[];
  /** Sum of the line amounts, two places. */
  total: string;
}

const MONEY_PLACES = 2;

/**
 * The invoice of one period from the tenant's plan. Pure and deterministic, so a total can be
 * recomputed from the rollups at any time. Rounding: each line's amount is rounded half-up to two
 * places; the total is the sum of the rounded lines (what a reader adding the lines gets).
 *  - "Base fee": 1 × base_fee (only when the plan has one)
 *  - tool calls beyond `included_tool_calls` × price_per_tool_call
 *  - (input + output tokens) / 1000 × price_per_1k_tokens
 */
export function computeInvoice(plan: TenantPlan, usage: BillableUsage): ComputedInvoice {
  const lines: InvoiceLine[] = [];
  let total: Decimal = { units: 0n, scale: MONEY_PLACES };
  const push = (description: string, quantity: Decimal, unitPrice: Decimal) => {
    const amount = round(multiply(quantity, unitPrice), MONEY_PLACES);
    total = add(total, amount);
    lines.push({ description, quantity: formatDecimal(quantity), unit_price: formatDecimal(unitPrice, MONEY_PLACES), amount: formatMoney(amount) });
  };

  const baseFee = parseDecimal(plan.base_fee ?? 0);
  if (baseFee.units !== 0n) push('Base fee', parseDecimal(1), baseFee);

  const included = Math.max(0, Math.trunc(plan.included_tool_calls ?? 0));
  const billableCalls = Math.max(0, usage.tool_calls - included);
  push(`Tool calls beyond ${included} included (${usage.tool_calls} executed)`, parseDecimal(billableCalls), parseDecimal(plan.price_per_tool_call ?? 0));

  const tokens = usage.input_tokens + usage.output_tokens;
  push(
    `Model tokens per 1,000 (${usage.input_tokens} input + ${usage.output_tokens} output)`,
    shiftLeft(parseDecimal(tokens), 3),
    parseDecimal(plan.price_per_1k_tokens ?? 0),
  );

  return { currency: plan.currency ?? 'BRL', lines, total: formatMoney(total) };
}
