/**
 * CPU seconds a process has used so far (user + system, all its threads), read from /proc/PID/stat: the fleet
 * benches sum it over the worker processes, MinIO and ElasticMQ to tell a bend caused by coordination from one
 * caused by the machine. Read by hand because it is two numbers of one line (pidusage would add a dependency for
 * the same read, and process.cpuUsage() only sees the calling process).
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/** Clock ticks per second, the unit of utime/stime in /proc (almost always 100). */
const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** user + system CPU seconds of `pid`, or undefined when it is gone (or this is not Linux). */
export async function processCpuSeconds(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces, hence the last ')'): state is field 3, so
    // utime (14) and stime (15) are at 11 and 12.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** This process's own CPU seconds (the bench, and an embedded backend when it runs in it). */
export function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** CPU seconds of several processes, by name; a process that is gone counts 0. */
export async function cpuSecondsOf(pids: ReadonlyMap<string, number[]>): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const [name, list] of pids) {
    const each = await Promise.all(list.map((pid) => processCpuSeconds(pid)));
    out.set(
      name,
      each.reduce<number>((sum, s) => sum + (s ?? 0), 0),
    );
  }
  return out;
}
