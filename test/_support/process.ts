// A server started as a child process, ready once it prints its listening
// line. No bun:test import: bench/http-wrk.ts uses it too.
import type { Subprocess } from "bun";
import { sleep } from "./time.ts";

/** A running child server. */
export interface SpawnedServer {
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  /** The port read from its ready line. */
  readonly port: number;
  /** Everything it printed so far (stdout and stderr, interleaved as read). */
  output(): string;
  /** Settles once both of its output streams have ended. */
  readonly drained: Promise<unknown>;
}

export interface SpawnServerOptions {
  /** Working directory of the child. */
  cwd: string;
  /** Added to process.env for the child. */
  env?: Record<string, string>;
  /** The ready line, matched against all output so far; group 1 is the port. */
  ready: RegExp;
  /** How long to wait for the ready line. */
  ms: number;
  /** Names the server in the error thrown when it does not start. */
  name: string;
  /** Signal sent when it does not start in time (default SIGTERM). */
  killSignal?: NodeJS.Signals;
}

/**
 * Spawns cmd with stdout and stderr piped and drained continuously, and
 * resolves once its output matches o.ready. Throws (after killing the
 * child) if the child exits or stays silent for o.ms without printing it;
 * the error holds everything it printed.
 */
export async function spawnServer(cmd: string[], o: SpawnServerOptions): Promise<SpawnedServer> {
  const proc = Bun.spawn(cmd, {
    cwd: o.cwd,
    env: { ...process.env, ...o.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let text = "";
  const { promise: listening, resolve } = Promise.withResolvers<number>();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const d = new TextDecoder();
    for await (const chunk of stream) {
      text += d.decode(chunk, { stream: true });
      const m = o.ready.exec(text);
      if (m) resolve(Number(m[1]));
    }
    resolve(-1);
  };
  const drained = Promise.all([pump(proc.stdout), pump(proc.stderr)]);
  const port = await Promise.race([listening, sleep(o.ms).then(() => -1)]);
  if (port <= 0) {
    proc.kill(o.killSignal ?? "SIGTERM");
    throw new Error(`${o.name} did not start:\n${text}`);
  }
  return { proc, port, output: () => text, drained };
}
