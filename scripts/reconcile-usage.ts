import { loadConfig } from '@agents/config';
import { createDb } from '@agents/db';
import { ceilHour, floorHour, periodBounds, PERIOD_RE, reconcileUsage } from '@agents/billing';

/**
 * `npx tsx scripts/reconcile-usage.ts [--period YYYY-MM | --from ISO --to ISO]`
 * Recomputes the rollups of the window from usage_events and prints every difference with
 * usage_rollups. Exit 0 when there is none, 1 when there is any (there must be none), 2 on bad usage.
 * Default window: the current calendar month (UTC).
 */
function args(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument "${a}"`);
    const [k, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
    out[k] = inline ?? argv[++i] ?? '';
  }
  return out;
}

async function main(): Promise<number> {
  const a = args(process.argv.slice(2));
  let from: Date;
  let to: Date;
  if (a.from || a.to) {
    from = floorHour(new Date(a.from ?? ''));
    to = ceilHour(new Date(a.to ?? ''));
    if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || to <= from) throw new Error('--from and --to must be ISO timestamps with from < to');
  } else {
    const period = a.period ?? new Date().toISOString().slice(0, 7);
    if (!PERIOD_RE.test(period)) throw new Error('--period must be YYYY-MM');
    ({ start: from, end: to } = periodBounds(period));
  }
  const config = loadConfig(process.env);
  const db = createDb({ url: config.databaseUrl, max: 1 });
  try {
    const r = await reconcileUsage(db, { from, to });
    console.log(`window ${r.from} .. ${r.to} at watermark ${r.watermark}: ${r.events} rolled-up events in ${r.groups} groups`);
    for (const d of r.differences) {
      const what = Object.entries(d.counters)
        .map(([c, [e, u]]) => `${c} events=${e} rollups=${u}`)
        .join(', ');
      console.log(`DIFF ${d.tenant_id} ${d.environment} ${d.hour} ${d.kind} ${d.server}/${d.tool}: ${what}`);
    }
    console.log(r.differences.length ? `${r.differences.length} difference(s)` : 'no differences');
    return r.differences.length ? 1 : 0;
  } finally {
    await db.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  },
);
