//go:build ignore

// Go side of the channel micro-benchmark (bench/chan.ts runs it pinned to one
// CPU with GOMAXPROCS=1):
//
//	go build -o ../out/go-chan chan.go && GOMAXPROCS=1 ../out/go-chan pingpong 2 0.5
//
// Arguments: case (pingpong | buffered | select), timed seconds, warm-up
// seconds. The same loops as bench/chan.ts:
//
//	pingpong  A sends on ch1, B receives and sends it back on ch2, A receives
//	          (unbuffered); one op = one round trip.
//	buffered  one producer sends ints on a chan of cap 1024, one consumer
//	          receives them (range); one op = one value.
//	select    as pingpong, but each side waits in a two-case select (the
//	          reply channel and a quit channel that fires only at the end);
//	          one op = one round trip (2 selects + 2 sends).
//
// The clock is read every 1024 ops. Prints one JSON line: ops, wall ns and the
// process's user/system CPU ns over the timed window (getrusage RUSAGE_SELF,
// all threads), and the machine's idle ticks (idle + iowait, all CPUs, from
// /proc/stat) over the window, from which bench/chan.ts estimates other load.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const checkEvery = 1024

func pingpong(d time.Duration) int {
	ch1, ch2 := make(chan int), make(chan int)
	done := make(chan struct{})
	go func() {
		for v := range ch1 {
			ch2 <- v
		}
		close(done)
	}()
	deadline := time.Now().Add(d)
	n := 0
	for {
		for i := 0; i < checkEvery; i++ {
			ch1 <- i
			<-ch2
		}
		n += checkEvery
		if !time.Now().Before(deadline) {
			break
		}
	}
	close(ch1)
	<-done
	return n
}

func buffered(d time.Duration) int {
	ch := make(chan int, 1024)
	got := make(chan int)
	go func() {
		c := 0
		for range ch {
			c++
		}
		got <- c
	}()
	deadline := time.Now().Add(d)
	n := 0
	for {
		for i := 0; i < checkEvery; i++ {
			ch <- i
		}
		n += checkEvery
		if !time.Now().Before(deadline) {
			break
		}
	}
	close(ch)
	if c := <-got; c != n {
		panic(fmt.Sprintf("buffered: sent %d, received %d", n, c))
	}
	return n
}

func selectPingpong(d time.Duration) int {
	ping, pong := make(chan int), make(chan int)
	quitA, quitB := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() {
		for {
			var v int
			select {
			case v = <-ping:
			case <-quitB:
				close(done)
				return
			}
			pong <- v
		}
	}()
	deadline := time.Now().Add(d)
	n := 0
	for {
		for i := 0; i < checkEvery; i++ {
			ping <- i
			select {
			case <-pong:
			case <-quitA:
				panic("quitA fired")
			}
		}
		n += checkEvery
		if !time.Now().Before(deadline) {
			break
		}
	}
	close(quitB)
	<-done
	return n
}

func cpuNs() (user, sys int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return ru.Utime.Nano(), ru.Stime.Nano()
}

// idleTicks is the machine's idle + iowait time, all CPUs, in clock ticks.
func idleTicks() int64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return -1
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 6 {
		return -1
	}
	idle, _ := strconv.ParseInt(f[4], 10, 64)
	iowait, _ := strconv.ParseInt(f[5], 10, 64)
	return idle + iowait
}

func seconds(s string) time.Duration {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		fmt.Fprintf(os.Stderr, "bad seconds %q\n", s)
		os.Exit(2)
	}
	return time.Duration(f * float64(time.Second))
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: go-chan pingpong|buffered|select <seconds> <warmup-seconds>")
		os.Exit(2)
	}
	var run func(time.Duration) int
	switch os.Args[1] {
	case "pingpong":
		run = pingpong
	case "buffered":
		run = buffered
	case "select":
		run = selectPingpong
	default:
		fmt.Fprintf(os.Stderr, "unknown case %q\n", os.Args[1])
		os.Exit(2)
	}
	secs, warm := seconds(os.Args[2]), seconds(os.Args[3])
	if warm > 0 {
		run(warm)
	}
	runtime.GC()
	i0 := idleTicks()
	u0, s0 := cpuNs()
	t0 := time.Now()
	ops := run(secs)
	wall := time.Since(t0)
	u1, s1 := cpuNs()
	i1 := idleTicks()
	fmt.Printf("{\"case\":%q,\"ops\":%d,\"wallNs\":%d,\"userNs\":%d,\"sysNs\":%d,\"idleTicks\":%d,\"gomaxprocs\":%d,\"version\":%q}\n",
		os.Args[1], ops, wall.Nanoseconds(), u1-u0, s1-s0, i1-i0, runtime.GOMAXPROCS(0), runtime.Version())
}
