import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** The `.cpuprofile` a process writes at exit under `node --cpu-prof`. */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A script URL reduced to what it belongs to: a dependency, one of our packages' files, or Node. */
function areaOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return url.replace(/^node:internal\/(.*?)\/.*$/, 'node:internal/$1');
  const m = /\/(apps|packages)\/(.+)$/.exec(url);
  return m ? `${m[1]}/${m[2]}` : url;
}

/** Self time (ms) per function and per area, counting only samples between fromUs and toUs (profile clock). */
function selfTimes(p: CpuProfile, fromUs: number, toUs: number) {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const fns = new Map<string, number>();
  const areas = new Map<string, number>();
  let t = p.startTime;
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i]!;
    // A sample's delta is the time since the previous one; charge it to this sample's frame.
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
    if (t < fromUs || t > toUs) continue;
    const n = byId.get(p.samples[i]!)!;
    const { functionName, url, lineNumber } = n.callFrame;
    if (functionName === '(idle)') continue;
    const key = `${functionName || '(anonymous)'} ${url ? `${areaOf(url, functionName)}:${lineNumber + 1}` : ''}`.trim();
    fns.set(key, (fns.get(key) ?? 0) + dt);
    const area = areaOf(url, functionName);
    areas.set(area, (areas.get(area) ?? 0) + dt);
    total += dt;
  }
  return { fns, areas, total };
}

export interface ProfileSummary {
  /** Self ms per function and per area (package or file), non-idle samples only. */
  fns: Map<string, number>;
  areas: Map<string, number>;
  total: number;
}

/**
 * The self times of the profiles in `dir` written by the processes in `exits` (pid and the wall
 * time it exited), within the wall-clock window [fromMs, toMs]. Files are named
 * CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile.
 */
export function summariseProfiles(dir: string, exits: ReadonlyArray<{ pid: number; at: number }>, fromMs: number, toMs: number): ProfileSummary {
  const fns = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const pid = Number(file.split('.')[3]);
    const exit = exits.find((e) => e.pid === pid);
    if (!exit) continue;
    const p = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
    // The profile clock (µs) ends at the exit; map the window's wall times onto it.
    const offsetUs = p.endTime - exit.at * 1000;
    const s = selfTimes(p, fromMs * 1000 + offsetUs, toMs * 1000 + offsetUs);
    for (const [k, v] of s.fns) fns.set(k, (fns.get(k) ?? 0) + v);
    for (const [k, v] of s.areas) areas.set(k, (areas.get(k) ?? 0) + v);
    total += s.total;
  }
  return { fns, areas, total };
}

/**
 * Samples are wall-clock intervals (a descheduled or blocked thread still accrues them), so each
 * row is shown as its share of the samples and that share of the measured /proc CPU per unit.
 */
export function printTop(title: string, m: Map<string, number>, total: number, cpuMsPerUnit: number, unit: string, top: number): void {
  console.log(`\n| ${title} | % of samples | ≈ CPU ms per ${unit} |\n|---|---|---|`);
  for (const [k, v] of [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`| \`${k.replace(/\|/g, '\\|')}\` | ${((100 * v) / total).toFixed(1)} | ${((cpuMsPerUnit * v) / total).toFixed(3)} |`);
  }
}
