package main

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/kelseyhightower/envconfig"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"
)

//go:embed openapi.yaml
var openapiSpec []byte

// adminRouter serves the operator's endpoints; ready reports whether the
// LMTP server takes mail.
func adminRouter(ready func() bool, reg *prometheus.Registry) http.Handler {
	r := chi.NewRouter()
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	r.Get("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !ready() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "not ready\n")
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	r.Get("/openapi.yaml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(openapiSpec)
	})
	return r
}

// serveAdmin starts the admin server on l; it runs until Shutdown.
func serveAdmin(l net.Listener, h http.Handler, log zerolog.Logger) *http.Server {
	admin := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := admin.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Err(err).Msg("admin server stopped")
		}
	}()
	log.Info().Str("addr", l.Addr().String()).Msg("admin listening")
	return admin
}

// healthcheck asks the admin server whether the process is ready; it
// lets a container image check health without a shell or curl.
func healthcheck() int {
	var a AdminEnv
	if err := envconfig.Process("", &a); err != nil {
		fmt.Fprintf(os.Stderr, "healthcheck: %v\n", err)
		return 1
	}
	if a.HTTPListen == "" {
		fmt.Fprintln(os.Stderr, "healthcheck: HTTP_LISTEN is empty, no admin server to ask")
		return 1
	}
	host, port, err := net.SplitHostPort(a.HTTPListen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "healthcheck: HTTP_LISTEN: %v\n", err)
		return 1
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + net.JoinHostPort(host, port) + "/readyz")
	if err != nil {
		fmt.Fprintf(os.Stderr, "healthcheck: %v\n", err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(os.Stderr, "healthcheck: /readyz answered %d\n", resp.StatusCode)
		return 1
	}
	return 0
}
