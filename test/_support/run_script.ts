// A Bun script run as a child process to its exit, within a time limit.
// No bun:test import.
import { sleep } from "./time.ts";

/** What a script run by runScript() did. */
export interface ScriptRun {
  /** Its exit code, or "timeout" when it was still running after ms (it was killed then). */
  readonly code: number | "timeout";
  /** Milliseconds from the spawn to the exit (or to the timeout). */
  readonly ms: number;
  /** All it wrote to stdout. */
  readonly out: string;
  /** All it wrote to stderr. */
  readonly err: string;
}

export interface RunScriptOptions {
  /** How long it may run before it is killed. */
  ms: number;
  /** Added to process.env for the child; an undefined value removes that variable. */
  env?: Record<string, string | undefined>;
}

/**
 * Runs `bun file` with stdout and stderr piped and waits for it to
 * exit, killing it once it has run for o.ms. Never throws for what the child
 * does: a crash is a nonzero code, a hang is "timeout".
 */
export async function runScript(file: string, o: RunScriptOptions): Promise<ScriptRun> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...o.env })) if (v !== undefined) env[k] = v;
  const t0 = performance.now();
  const proc = Bun.spawn([process.execPath, file], { env, stdout: "pipe", stderr: "pipe" });
  const code = await Promise.race([proc.exited, sleep(o.ms).then(() => "timeout" as const)]);
  const ms = performance.now() - t0;
  if (code === "timeout") proc.kill();
  return { code, ms, out: await new Response(proc.stdout).text(), err: await new Response(proc.stderr).text() };
}
