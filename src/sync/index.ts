// Go's concurrency model for tasks: channels, select, WaitGroup, Mutex, timers.
export { Chan, ChannelError, type ChanOptions, type Received } from "./chan.ts";
export { select, type RecvCase, type SelectCase, type Selected, type SelectOptions, type SendCase, type SignalCase } from "./select.ts";
export { go, setTaskErrorHandler, type TaskErrorHandler } from "./go.ts";
export { Mutex, RWMutex } from "./mutex.ts";
export { Once } from "./once.ts";
export { after, sleep, Ticker } from "./time.ts";
export { WaitGroup } from "./waitgroup.ts";
