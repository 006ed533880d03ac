/**
 * CPU time from Linux's /proc, for the benches that must count more than their own process (ffmpeg, the embedded
 * S3, the runtime's Preprocess processes); undefined where there is no /proc.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second in /proc's times (USER_HZ; 100 on every Linux Node runs on). */
const TICKS_PER_SECOND = 100;

/**
 * The fields of /proc/<pid>/stat after the command name, which may hold spaces: index 0 is the state (field 3), so
 * ppid (field 4) is at 1 and utime, stime, cutime, cstime (fields 14–17) at 11–14.
 */
function statFields(pid: number | 'self'): string[] {
  return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
}

const seconds = (fields: string[], from: number, count: number) =>
  fields.slice(from, from + count).reduce((sum, ticks) => sum + Number(ticks), 0) / TICKS_PER_SECOND;

/**
 * CPU seconds so far: this process's own (utime + stime), and of its children, those it has waited for (cutime +
 * cstime: ffmpeg once it ended, helper processes once stopped) and those still running (each /proc/<pid> whose
 * parent is this process).
 */
export function processCpuSeconds(): { own: number; endedChildren: number; runningChildren: number } | undefined {
  if (!existsSync('/proc/self/stat')) return undefined;
  const self = statFields('self');
  let runningChildren = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = statFields(Number(entry));
      if (Number(fields[1]) === process.pid) runningChildren += seconds(fields, 11, 2);
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return { own: seconds(self, 11, 2), endedChildren: seconds(self, 13, 2), runningChildren };
}
