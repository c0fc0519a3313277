// bun-netpoll: the public API. Explicit named exports only.
export { pollFd, PollFd, type WaitOptions } from "./pollfd.ts";
export { AddrError, ClosedError, DeadlineExceededError, NetError, type ErrorContext } from "./errors.ts";
export { runtimeStats, type RuntimeStats } from "./runtime/stats.ts";
export type { Deadline } from "./runtime/deadline.ts";
