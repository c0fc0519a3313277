// The entry for every runtime but Bun (the package's `node` and `default`
// conditions): bun-netpoll reaches the kernel through Bun's FFI, so it cannot
// run there, and says so in one sentence instead of failing on `bun:` URLs.
throw new Error("bun-netpoll runs only under Bun (https://bun.sh): it calls the kernel through Bun's FFI, which this runtime does not have");
