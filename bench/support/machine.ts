/**
 * @module bench/support/machine — CPU time the whole machine spent busy (every process, from
 * /proc/stat), so a run can say how much of the machine others took: on a shared VM, processes of
 * other tenants are invisible to `top` here but still take cores from the benchmark.
 */
import { readFileSync } from 'node:fs';

/** /proc/stat counts in USER_HZ ticks, 100 per second on Linux. */
const MS_PER_TICK = 10;

/** Milliseconds of CPU time all cores have spent not idle since boot; NaN off Linux. */
export function machineBusyMs(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const [, ...fields] = line.trim().split(/\s+/);
    const ticks = fields.map(Number);
    const total = ticks.slice(0, 8).reduce((s, t) => s + t, 0);
    // idle and iowait are the two fields that are not work.
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    return (total - idle) * MS_PER_TICK;
  } catch {
    return Number.NaN;
  }
}

/** CPU time (user + system) this process's main thread has used, ms; NaN off Linux. */
export function mainThreadCpuMs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK;
  } catch {
    return Number.NaN;
  }
}
