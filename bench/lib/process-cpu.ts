// CPU time of a process, or of a process and everything it started (a gateway CLI may fork
// workers), read from /proc: utime + stime (of each process whose parent chain leads to the
// root). Linux only. The one reader of /proc/<pid>/stat the benchmarks share.
import { readdir, readFile } from 'node:fs/promises';

/** Clock ticks per second of /proc/<pid>/stat's CPU times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

interface Stat {
  readonly ppid: number;
  readonly ticks: number;
}

async function stat(pid: number): Promise<Stat | undefined> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!text) return undefined;
  // After "pid (comm) ": state ppid ... with utime and stime the 12th and 13th fields.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
}

/** CPU time (user + system), ms, used so far by `pid`; undefined if it is not running. */
export async function processCpuMs(pid: number): Promise<number | undefined> {
  const s = await stat(pid);
  return s && Number.isFinite(s.ticks) ? (s.ticks * 1000) / TICKS_PER_SECOND : undefined;
}

/** CPU time (user + system), ms, used so far by `root` and its descendants still running. */
export async function processTreeCpuMs(root: number): Promise<number> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
  const stats = new Map<number, Stat>();
  await Promise.all(
    pids.map(async (pid) => {
      const s = await stat(pid);
      if (s) stats.set(pid, s);
    }),
  );
  const inTree = (pid: number): boolean => {
    for (let at: number | undefined = pid; at !== undefined && at > 1; at = stats.get(at)?.ppid)
      if (at === root) return true;
    return false;
  };
  let ticks = 0;
  for (const [pid, s] of stats) if (inTree(pid)) ticks += s.ticks;
  return (ticks * 1000) / TICKS_PER_SECOND;
}
