//go:build pprof

package main

import (
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/ on the default mux
	"os"
)

// A build for profiling (go build -tags pprof, as bench/run.sh PROFILE=1
// does) serves net/http/pprof on BENCH_PPROF_LISTEN, a loopback
// host:port. Release builds have no such listener.
func init() {
	if addr := os.Getenv("BENCH_PPROF_LISTEN"); addr != "" {
		go func() { _ = http.ListenAndServe(addr, nil) }()
	}
}
