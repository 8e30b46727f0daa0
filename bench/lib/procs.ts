/**
 * Processes the bench started, read from /proc (Linux): finding the ones `wrangler dev`
 * spawned, pinning them to CPUs (taskset), reading their CPU time. Nothing here signals a
 * process; stopping is left to whoever started it.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

export type Proc = { pid: number; ppid: number; args: string[] };

export function listProcs(): Proc[] {
  const out: Proc[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const args = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").filter(Boolean);
      out.push({ pid: Number(entry), ppid: Number(fields[1]), args });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Every live descendant of `root`. */
export function descendants(root: number, procs = listProcs()): Proc[] {
  const children = new Map<number, Proc[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const out: Proc[] = [];
  const walk = (pid: number) => {
    for (const c of children.get(pid) ?? []) {
      out.push(c);
      walk(c.pid);
    }
  };
  walk(root);
  return out;
}

export type ServerProcs = {
  /** Everything that `wrangler dev` on this port runs (npm exec, sh, node, workerd ×2). */
  all: Proc[];
  /** wrangler's Node process (bundling, the dev-server control plane). */
  wrangler?: Proc;
  /** The workerd that listens on the public port: wrangler's proxy worker. */
  proxy?: Proc;
  /** The workerd that runs the worker itself (and its Durable Objects, D1, storage). */
  runtime?: Proc;
};

/** The processes of the `wrangler dev` we started on `port` (descendants of this process). */
export function wranglerDevProcs(port: number): ServerProcs {
  const mine = descendants(process.pid);
  const top = mine.find((p) => p.args.some((a) => a.includes("wrangler")) && p.args.includes(String(port)) && p.args.includes("--port"));
  if (!top) return { all: [] };
  const all = [top, ...descendants(top.pid)];
  const workerds = all.filter((p) => p.args[0]?.endsWith("/workerd"));
  const proxy = workerds.find((p) => p.args.some((a) => a === `--socket-addr=entry=127.0.0.1:${port}`));
  const runtime = workerds.find((p) => p !== proxy);
  const wrangler = all.filter((p) => p.args.some((a) => a.endsWith("wrangler-dist/cli.js"))).at(-1);
  return { all, wrangler, proxy, runtime };
}

/** User + system CPU time of a process, in seconds (0 when it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[11], [12] are utime, stime (the 14th and 15th fields of proc(5)).
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

const CLOCK_TICKS = (() => {
  const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  const n = Number(r.stdout?.trim());
  return Number.isInteger(n) && n > 0 ? n : 100;
})();

export function canPin(): boolean {
  return spawnSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" }).status === 0;
}

/** Pins every thread of each process to `cpus` (e.g. "0"); false when taskset refused. */
export function pin(pids: number[], cpus: string): boolean {
  let ok = true;
  for (const pid of pids) {
    const r = spawnSync("taskset", ["-a", "-p", "-c", cpus, String(pid)], { stdio: "ignore" });
    if (r.status !== 0) ok = false;
  }
  return ok;
}

/** The CPUs a process may run on, as taskset prints them ("0", "0,1", "0-1"). */
export function affinity(pid: number): string {
  const r = spawnSync("taskset", ["-c", "-p", String(pid)], { encoding: "utf8" });
  return r.stdout?.split(":").at(-1)?.trim() ?? "?";
}

/** Waits (bounded) until none of `pids` is alive. */
export async function waitGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let alive = pids;
  while (alive.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    alive = alive.filter((pid) => {
      try {
        const state = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0];
        return state !== "Z" && state !== "X";
      } catch {
        return false;
      }
    });
  }
  return alive;
}

/** Busy CPU time of the whole machine (all CPUs, /proc/stat), in seconds. */
export function machineBusySeconds(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal ...: everything but idle and iowait.
  const busy = line.reduce((s, v, i) => (i === 3 || i === 4 || i > 7 ? s : s + v), 0);
  return busy / CLOCK_TICKS;
}

/** Busy seconds per CPU (/proc/stat cpuN lines), by CPU number. */
export function cpuBusySeconds(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync("/proc/stat", "utf8").split("\n")) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    out[m[1]!] = v.reduce((s, x, i) => (i === 3 || i === 4 || i > 7 ? s : s + x), 0) / CLOCK_TICKS;
  }
  return out;
}
