import { computeInvoice, formatDecimal, formatMoney, parseDecimal, round, periodBounds, periodOf } from '../src';

describe('decimal arithmetic', () => {
  test('parses JSON numbers through their exact decimal text, never via float math', () => {
    expect(formatDecimal(parseDecimal(0.1))).toBe('0.1');
    expect(formatDecimal(parseDecimal(1e-7))).toBe('0.0000001');
    expect(formatDecimal(parseDecimal('12.50'), 2)).toBe('12.50');
    expect(formatDecimal(parseDecimal(2e21))).toBe('2000000000000000000000');
    expect(() => parseDecimal(Number.NaN)).toThrow();
    expect(() => parseDecimal('1,5')).toThrow();
  });

  test('rounds half away from zero at two places', () => {
    expect(formatMoney(parseDecimal('0.005'))).toBe('0.01');
    expect(formatMoney(parseDecimal('0.0049999'))).toBe('0.00');
    expect(formatMoney(parseDecimal('-0.005'))).toBe('-0.01');
    expect(formatMoney(parseDecimal('2.675'))).toBe('2.68'); // 2.675.toFixed(2) is "2.67" in floats
    expect(formatDecimal(round(parseDecimal('18.16046'), 2), 2)).toBe('18.16');
  });

  test('periods are UTC calendar months', () => {
    expect(periodOf(new Date('2026-11-30T23:59:59.999Z'))).toBe('2026-11');
    expect(periodOf(new Date('2026-12-01T00:00:00.000Z'))).toBe('2026-12');
    expect(periodBounds('2026-12')).toEqual({ start: new Date('2026-12-01T00:00:00Z'), end: new Date('2027-01-01T00:00:00Z') });
  });
});

describe('computeInvoice', () => {
  test('matches a hand-computed invoice exactly', () => {
    // Plan: R$49.90 base, 1,000 calls included, R$0.05 per further call, R$0.02 per 1k tokens.
    // Usage: 1,234 executed calls, 812,345 input + 95,678 output tokens.
    //   base fee            1 × 49.90                       = 49.90
    //   tool calls      234 × 0.05                          = 11.70
    //   tokens      908.023 × 0.02 = 18.16046 → half-up     = 18.16
    //   total                                              = 79.76
    const inv = computeInvoice(
      { currency: 'BRL', base_fee: 49.9, included_tool_calls: 1000, price_per_tool_call: 0.05, price_per_1k_tokens: 0.02 },
      { tool_calls: 1234, input_tokens: 812_345, output_tokens: 95_678 },
    );
    expect(inv).toEqual({
      currency: 'BRL',
      lines: [
        { description: 'Base fee', quantity: '1', unit_price: '49.90', amount: '49.90' },
        { description: 'Tool calls beyond 1000 included (1234 executed)', quantity: '234', unit_price: '0.05', amount: '11.70' },
        { description: 'Model tokens per 1,000 (812345 input + 95678 output)', quantity: '908.023', unit_price: '0.02', amount: '18.16' },
      ],
      total: '79.76',
    });
  });

  test('each line is rounded half-up, the total is the sum of the rounded lines', () => {
    // 3 × 0.0125 = 0.0375 → 0.04; 1.5k tokens × 0.003 = 0.0045 → 0.00; total 0.04 (not round(0.042)).
    const inv = computeInvoice(
      { currency: 'USD', base_fee: 0, included_tool_calls: 0, price_per_tool_call: 0.0125, price_per_1k_tokens: 0.003 },
      { tool_calls: 3, input_tokens: 1000, output_tokens: 500 },
    );
    expect(inv.lines.map((l) => [l.quantity, l.unit_price, l.amount])).toEqual([
      ['3', '0.0125', '0.04'],
      ['1.5', '0.003', '0.00'],
    ]);
    expect(inv.total).toBe('0.04');
  });

  test('calls within the included allowance cost nothing; sums beyond float precision stay exact', () => {
    const small = computeInvoice(
      { currency: 'BRL', base_fee: 0, included_tool_calls: 1000, price_per_tool_call: 0.05, price_per_1k_tokens: 0 },
      { tool_calls: 999, input_tokens: 0, output_tokens: 0 },
    );
    expect(small.lines[0]!.quantity).toBe('0');
    expect(small.total).toBe('0.00');
    // 0.1 + 0.2 style drift cannot happen: 10,000,003 calls × 0.1 = 1,000,000.30 exactly.
    const big = computeInvoice(
      { currency: 'BRL', base_fee: 0.2, included_tool_calls: 0, price_per_tool_call: 0.1, price_per_1k_tokens: 0 },
      { tool_calls: 10_000_003, input_tokens: 0, output_tokens: 0 },
    );
    expect(big.total).toBe('1000000.50');
  });
});
