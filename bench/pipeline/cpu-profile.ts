import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time of one function or one package, in ms and as a share of the busy (non-idle) time. */
export interface ProfileEntry {
  name: string;
  selfMs: number;
  percent: number;
}

export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  functions: ProfileEntry[];
  packages: ProfileEntry[];
}

/** Where a script lives: an npm package, the relay's own code, or Node's internals. */
function packageOf(url: string): string {
  const inModules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (inModules !== undefined) {
    return inModules;
  }
  const own = /dist\/(libs|services)\/([^/]+)/.exec(url);
  if (own !== null) {
    return `@ser/${own[2] ?? ''} (${own[1] ?? ''})`;
  }
  return url.startsWith('node:') || url === '' ? 'node (built-in, native, GC)' : url;
}

function top(map: Map<string, number>, busyMs: number, n: number): ProfileEntry[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => ({
      name,
      selfMs: Math.round(us / 1000),
      percent: Math.round((us / 1000 / Math.max(1, busyMs)) * 1000) / 10,
    }));
}

/**
 * Reads a V8 CPU profile (`node --cpu-prof`) and adds up self time per function and per package:
 * the first answer to "where does the time go". `(idle)` is kept apart; `(program)` (native code
 * outside JavaScript) and `(garbage collector)` count as busy.
 */
export function summarizeProfile(file: string, n = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const functions = new Map<string, number>();
  const packages = new Map<string, number>();
  let idleUs = 0;
  let busyUs = 0;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) {
      return;
    }
    if (frame.functionName === '(idle)') {
      idleUs += us;
      return;
    }
    busyUs += us;
    const where =
      frame.url === ''
        ? ''
        : ` ${frame.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${String(frame.lineNumber + 1)}`;
    const fn = `${frame.functionName || '(anonymous)'}${where}`;
    functions.set(fn, (functions.get(fn) ?? 0) + us);
    const pkg = packageOf(frame.url);
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
  });
  const busyMs = busyUs / 1000;
  return {
    busyMs: Math.round(busyMs),
    idleMs: Math.round(idleUs / 1000),
    functions: top(functions, busyMs, n),
    packages: top(packages, busyMs, n),
  };
}
