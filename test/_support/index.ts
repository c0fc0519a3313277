// The test-support module: every helper the tests share, by topic.
export * from "./clean.ts";
export * from "./conns.ts";
export * from "./fd.ts";
export * from "./http-stream.ts";
export * from "./lines.ts";
export * from "./pipe_tests.ts";
export * from "./primes.ts";
export * from "./process.ts";
export * from "./promises.ts";
export * from "./random.ts";
export * from "./resources.ts";
export * from "./run_script.ts";
export * from "./time.ts";
export * from "./exchanges.ts";
export * from "./net_errors.ts";
export * from "./pair_tests.ts";
export * from "./ports.ts";
