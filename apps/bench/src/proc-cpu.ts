import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux, asked once). */
const HZ = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; 0 if it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / HZ;
  } catch {
    return 0;
  }
}

/** Pids of processes whose command line contains `needle` (e.g. the Redis port, "postgres"). */
export function pidsMatching(test: (cmdline: string, comm: string) => boolean): number[] {
  const out: number[] = [];
  for (const d of execFileSync('ls', ['/proc']).toString().split('\n')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const comm = readFileSync(`/proc/${d}/comm`, 'utf8').trim();
      if (test(cmd, comm)) out.push(Number(d));
    } catch {
      /* exited */
    }
  }
  return out;
}

/** Total CPU seconds of a set of processes. */
export function cpuOf(pids: number[]): number {
  return pids.reduce((s, p) => s + cpuSeconds(p), 0);
}

/**
 * CPU seconds of a process and its children: its own time, the time of children it has reaped
 * (cutime/cstime: Postgres backends that already exited), and the live children's own time.
 */
export function cpuTree(pid: number): number {
  const fields = (p: number): string[] | undefined => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    } catch {
      return undefined;
    }
  };
  const f = fields(pid);
  if (!f) return 0;
  let ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  for (const d of execFileSync('ls', ['/proc']).toString().split('\n')) {
    if (!/^\d+$/.test(d)) continue;
    const c = fields(Number(d));
    // Field 4 (index 1) is the parent pid.
    if (c && Number(c[1]) === pid) ticks += Number(c[11]) + Number(c[12]);
  }
  return ticks / HZ;
}
