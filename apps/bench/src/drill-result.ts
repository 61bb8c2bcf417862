import type { DrillCounts } from './audit';
import { unexpectedExits } from './child-process';

export interface DrillResult extends DrillCounts {
  name: string;
  /** Drill-specific observations (e.g. the slowest 503 while Redis was down), printed after the table. */
  notes: Record<string, string | number>;
  /** Violated invariants, in words; empty when the drill passed. */
  problems: string[];
  seconds: number;
}

/** The invariants every drill shares: nothing lost, nothing done twice, nothing billed wrong. */
export function sharedProblems(c: DrillCounts): string[] {
  const p: string[] = [];
  if (c.lost) p.push(`${c.lost} accepted jobs lost${c.lostDetails?.length ? `:\n    ${c.lostDetails.join('\n    ')}` : ''}`);
  if (c.duplicated) p.push(`${c.duplicated} duplicated side effects`);
  if (c.usageMismatches) p.push(`${c.usageMismatches} usage mismatches`);
  // Processes of the drill that died on their own (not killed by the drill).
  for (const e of unexpectedExits.splice(0)) p.push(`unexpected exit: ${e}`);
  return p;
}

export function formatTable(results: DrillResult[]): string {
  const head = ['drill', 'accepted', 'completed', 'failed', 'lost', 'duplicated', 'usage mismatches', 'seconds', 'result'];
  const rows = results.map((r) =>
    [r.name, r.accepted, r.completed, r.failed, r.lost, r.duplicated, r.usageMismatches, r.seconds.toFixed(1), r.problems.length ? 'FAIL' : 'ok'].map(String),
  );
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(width[i]!)).join(' | ')} |`;
  const out = [line(head), `|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)];
  for (const r of results) {
    out.push(
      '',
      `${r.name}: ${Object.entries(r.notes)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}`,
    );
    for (const p of r.problems) out.push(`  PROBLEM: ${p}`);
  }
  return out.join('\n');
}
