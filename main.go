// Command lmtp-webhook receives mail over LMTP and POSTs each message, as
// JSON, to a webhook once per recipient, answering every recipient with
// the reply its webhook earned.
//
// It is configured by environment variables; run it with -h for the list.
// This file only wires: config.go turns the environment into ready
// values, admin.go serves the operator's endpoints, and the work is done
// by packages lmtp and webhook.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/webhook"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	flag.Usage = func() { printUsage(os.Stdout) }
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println(version)
		return
	}
	if flag.Arg(0) == "healthcheck" {
		os.Exit(healthcheck())
	}
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "lmtp-webhook: unknown argument %q (try -h)\n", flag.Arg(0))
		os.Exit(2)
	}

	cfg, err := loadConfig()
	if err != nil {
		fmt.Fprintf(os.Stderr, "lmtp-webhook: configuration: %v\n", err)
		os.Exit(2)
	}
	if err := run(cfg); err != nil {
		fmt.Fprintf(os.Stderr, "lmtp-webhook: %v\n", err)
		os.Exit(1)
	}
}

func newLogger(cfg *settings) zerolog.Logger {
	var w io.Writer = os.Stderr
	if cfg.logConsole {
		// Colours only on a terminal, not in docker logs or files.
		w = zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: time.RFC3339, NoColor: !isatty.IsTerminal(os.Stderr.Fd())}
	}
	zerolog.DurationFieldUnit = time.Millisecond
	zerolog.DurationFieldInteger = false
	return zerolog.New(w).Level(cfg.logLevel).With().Timestamp().Logger()
}

// run wires the servers, waits for a signal and shuts down in order:
// listener first, then transactions in flight, then the HTTP client.
func run(cfg *settings) error {
	log := newLogger(cfg)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	cfg.memory.applyTo(&cfg.webhook, &cfg.lmtp)
	wc := cfg.webhook
	wc.Metrics, wc.Version = webhook.NewMetrics(reg), version
	trust, err := cfg.trust.stages(reg, "lmtp-webhook/"+version)
	if err != nil {
		return err
	}
	wc.Parse.Stages = append(wc.Parse.Stages, trust...)
	if cfg.storage != nil {
		stage, err := cfg.storage.stage(reg, log, wc.Retry.MaxElapsed)
		if err != nil {
			return err
		}
		wc.Parse.Stages = append(wc.Parse.Stages, stage)
	}
	client, err := webhook.New(wc)
	if err != nil {
		return err
	}
	defer client.Close()

	lc := cfg.lmtp
	lc.Deliverer, lc.Logger, lc.Metrics = client, log, lmtp.NewMetrics(reg)
	cfg.lmtpLimits.applyTo(&lc)
	if cfg.checkURL != "" {
		if lc.Checker, err = client.NewChecker(cfg.checkURL, cfg.checkTimeout); err != nil {
			return err
		}
	}
	srv, err := lmtp.New(lc)
	if err != nil {
		return err
	}
	l, err := srv.Listen()
	if err != nil {
		return err
	}
	var al net.Listener
	if cfg.httpListen != "" {
		if al, err = net.Listen("tcp", cfg.httpListen); err != nil {
			l.Close()
			return fmt.Errorf("admin: listen: %w", err)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	var admin *http.Server
	if al != nil {
		admin = serveAdmin(al, adminRouter(func() bool { return !srv.Draining() }, reg), log)
	}
	log.Info().Str("version", version).Str("webhook", cfg.redactedURL).Str("check", redact(cfg.checkURL)).
		Str("routes", wc.Routes.String()).Bool("signed", wc.Secret != nil).Str("trust", cfg.trust.describe()).Msg("started")

	select {
	case err := <-served:
		return fmt.Errorf("lmtp: serve: %w", err)
	case <-ctx.Done():
	}
	stop()
	log.Info().Dur("timeout", cfg.shutdown).Msg("draining")
	dctx, cancel := context.WithTimeout(context.Background(), cfg.shutdown)
	defer cancel()
	if err := srv.Shutdown(dctx); err != nil {
		log.Warn().Err(err).Msg("drain timed out; unfinished deliveries were deferred")
	}
	if admin != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = admin.Shutdown(sctx)
	}
	log.Info().Msg("stopped")
	return nil
}
