//go:build ignore

// Go net echo server for the bench (run with GOMAXPROCS=1).
//
//	go build -o ../out/go-echo echo.go && PORT=7000 ../out/go-echo
//
// One goroutine per connection, a read/write loop over a 16 KiB buffer (no
// io.Copy: on Linux that can splice(2), a different path from the other
// servers). SIGUSR2 prints "HEAP <bytes>" (HeapAlloc after a GC).
package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "7000"
	}
	host := os.Getenv("HOST")
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go heapOnSignal()
	fmt.Printf("go-net echo listening on %s\n", ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		go func(c net.Conn) {
			defer c.Close()
			buf := make([]byte, 16*1024)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					if _, werr := c.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}(c)
	}
}

func heapOnSignal() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR2)
	for range ch {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		fmt.Printf("HEAP %d\n", m.HeapAlloc)
	}
}
