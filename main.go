// Command lmtp-webhook receives mail over LMTP and POSTs each message, as
// JSON, to a webhook once per recipient, answering every recipient with
// the reply its webhook earned.
//
// It is configured by environment variables; run it with -h for the list.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/kelseyhightower/envconfig"
	"github.com/mattn/go-isatty"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/retry"
	"github.com/lmtp-webhook/lmtp-webhook/webhook"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

//go:embed openapi.yaml
var openapiSpec []byte

// config is the whole configuration, read from the environment.
type config struct {
	WebhookURL         string            `envconfig:"WEBHOOK_URL" required:"true" desc:"where each delivery is POSTed; https://user:pass@host/... gives Basic auth (never logged)"`
	WebhookSecret      string            `envconfig:"WEBHOOK_SECRET" desc:"Standard Webhooks secret (whsec_ + base64); when set, every request is signed"`
	WebhookTimeout     time.Duration     `envconfig:"WEBHOOK_TIMEOUT" default:"30s" desc:"one attempt's time limit"`
	WebhookHeaders     map[string]string `envconfig:"WEBHOOK_HEADERS" desc:"extra request headers, Name:value,Name2:value2"`
	WebhookAttachments string            `envconfig:"WEBHOOK_ATTACHMENTS" default:"inline" desc:"inline: base64 content in the payload; omit: metadata only"`
	WebhookIncludeRaw  bool              `envconfig:"WEBHOOK_INCLUDE_RAW" default:"false" desc:"also send the whole message, base64, as raw"`
	WebhookRoutes      string            `envconfig:"WEBHOOK_ROUTES" desc:"per-recipient URLs, pattern=url,... (exact address, *@domain, *); most specific wins, the rest go to WEBHOOK_URL"`
	WebhookMaxConns    int               `envconfig:"WEBHOOK_MAX_CONNS" default:"64" desc:"most connections open to each webhook host; more requests wait for a free one"`

	RetryMaxAttempts     int           `envconfig:"RETRY_MAX_ATTEMPTS" default:"4" desc:"attempts per recipient inside one LMTP transaction"`
	RetryInitialInterval time.Duration `envconfig:"RETRY_INITIAL_INTERVAL" default:"500ms" desc:"first backoff between attempts (exponential, with jitter)"`
	RetryMaxInterval     time.Duration `envconfig:"RETRY_MAX_INTERVAL" default:"10s" desc:"longest backoff between attempts"`
	RetryMaxElapsed      time.Duration `envconfig:"RETRY_MAX_ELAPSED" default:"60s" desc:"total budget per recipient from end of DATA; keep it well under the MTA's lmtp_data_done_timeout"`

	CheckURL     string        `envconfig:"CHECK_URL" desc:"optional sender and recipient check at MAIL and RCPT, answered like deliveries"`
	CheckTimeout time.Duration `envconfig:"CHECK_TIMEOUT" default:"5s" desc:"time limit of one check"`

	LMTPListen          string        `envconfig:"LMTP_LISTEN" default:"127.0.0.1:2424" desc:"host:port, or unix:/path/to.sock"`
	LMTPSocketMode      string        `envconfig:"LMTP_SOCKET_MODE" default:"0660" desc:"permissions of a unix socket (octal)"`
	LMTPHostname        string        `envconfig:"LMTP_HOSTNAME" desc:"name in the greeting (default: the host name)"`
	LMTPDomains         []string      `envconfig:"LMTP_DOMAINS" default:"*" desc:"comma list of accepted recipient domains; * accepts any; others get 550 5.1.2 at RCPT"`
	LMTPMaxMessageBytes int64         `envconfig:"LMTP_MAX_MESSAGE_BYTES" default:"26214400" desc:"advertised with SIZE; larger gets 552 5.3.4"`
	LMTPMaxRecipients   int           `envconfig:"LMTP_MAX_RECIPIENTS" default:"100" desc:"more recipients get 452 4.5.3"`
	LMTPMaxConnections  int           `envconfig:"LMTP_MAX_CONNECTIONS" default:"100" desc:"more connections get 421 4.4.5 at connect"`
	LMTPReadTimeout     time.Duration `envconfig:"LMTP_READ_TIMEOUT" default:"5m" desc:"idle client limit: each command, and the whole message after DATA"`
	LMTPWriteTimeout    time.Duration `envconfig:"LMTP_WRITE_TIMEOUT" default:"1m" desc:"limit for writing each reply"`

	HTTPListen      string        `envconfig:"HTTP_LISTEN" default:"127.0.0.1:8080" desc:"admin server (/healthz /readyz /metrics /openapi.yaml); empty disables it"`
	ShutdownTimeout time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"30s" desc:"drain time on SIGTERM"`
	LogLevel        string        `envconfig:"LOG_LEVEL" default:"info" desc:"zerolog level: debug, info, warn, error"`
	LogFormat       string        `envconfig:"LOG_FORMAT" default:"json" desc:"json or console"`
}

// configError names the variable at fault; main prints it on one line and
// exits 2.
type configError struct {
	key string
	err error
}

// Error names the variable and what is wrong with it.
func (e *configError) Error() string { return e.key + ": " + e.err.Error() }

// Unwrap returns what is wrong.
func (e *configError) Unwrap() error { return e.err }

func loadConfig() (*config, error) {
	var c config
	if err := envconfig.Process("", &c); err != nil {
		var pe *envconfig.ParseError
		if errors.As(err, &pe) {
			return nil, &configError{pe.KeyName, fmt.Errorf("invalid %s %q: %w", pe.TypeName, pe.Value, unwrapAll(pe.Err))}
		}
		if key, ok := strings.CutPrefix(err.Error(), "required key "); ok {
			key, _, _ = strings.Cut(key, " ")
			return nil, &configError{key, errors.New("required, not set")}
		}
		return nil, err
	}
	return &c, c.validate()
}

func unwrapAll(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

func (c *config) validate() error {
	positive := []struct {
		key string
		d   time.Duration
	}{
		{"WEBHOOK_TIMEOUT", c.WebhookTimeout},
		{"RETRY_MAX_ELAPSED", c.RetryMaxElapsed},
		{"CHECK_TIMEOUT", c.CheckTimeout},
		{"LMTP_READ_TIMEOUT", c.LMTPReadTimeout},
		{"LMTP_WRITE_TIMEOUT", c.LMTPWriteTimeout},
		{"SHUTDOWN_TIMEOUT", c.ShutdownTimeout},
	}
	for _, p := range positive {
		if p.d <= 0 {
			return &configError{p.key, fmt.Errorf("must be a positive duration, got %s", p.d)}
		}
	}
	switch {
	case c.RetryInitialInterval < 0:
		return &configError{"RETRY_INITIAL_INTERVAL", errors.New("must not be negative")}
	case c.RetryMaxInterval < c.RetryInitialInterval:
		return &configError{"RETRY_MAX_INTERVAL", errors.New("must not be below RETRY_INITIAL_INTERVAL")}
	case c.RetryMaxAttempts < 1:
		return &configError{"RETRY_MAX_ATTEMPTS", errors.New("must be at least 1")}
	case c.WebhookAttachments != "inline" && c.WebhookAttachments != "omit":
		return &configError{"WEBHOOK_ATTACHMENTS", fmt.Errorf("must be inline or omit, got %q", c.WebhookAttachments)}
	case c.WebhookMaxConns < 1:
		return &configError{"WEBHOOK_MAX_CONNS", errors.New("must be at least 1")}
	case c.LMTPListen == "":
		return &configError{"LMTP_LISTEN", errors.New("must not be empty")}
	case c.LMTPMaxMessageBytes < 1:
		return &configError{"LMTP_MAX_MESSAGE_BYTES", errors.New("must be at least 1")}
	case c.LMTPMaxRecipients < 1:
		return &configError{"LMTP_MAX_RECIPIENTS", errors.New("must be at least 1")}
	case c.LMTPMaxConnections < 1:
		return &configError{"LMTP_MAX_CONNECTIONS", errors.New("must be at least 1")}
	case c.LogFormat != "json" && c.LogFormat != "console":
		return &configError{"LOG_FORMAT", fmt.Errorf("must be json or console, got %q", c.LogFormat)}
	}
	if _, err := zerolog.ParseLevel(c.LogLevel); err != nil || c.LogLevel == "" {
		return &configError{"LOG_LEVEL", fmt.Errorf("unknown level %q", c.LogLevel)}
	}
	if _, err := c.socketMode(); err != nil {
		return &configError{"LMTP_SOCKET_MODE", err}
	}
	if path, ok := strings.CutPrefix(c.LMTPListen, "unix:"); ok && path == "" {
		return &configError{"LMTP_LISTEN", errors.New("unix: needs a path")}
	}
	if _, err := wire.ParseSecret(c.WebhookSecret); err != nil {
		return &configError{"WEBHOOK_SECRET", err}
	}
	for name := range c.WebhookHeaders {
		if name == "" || strings.ContainsAny(name, " \t\r\n:") {
			return &configError{"WEBHOOK_HEADERS", fmt.Errorf("bad header name %q", name)}
		}
	}
	return nil
}

func (c *config) socketMode() (fs.FileMode, error) {
	m, err := strconv.ParseUint(c.LMTPSocketMode, 8, 32)
	if err != nil || m > 0o777 || m == 0 {
		return 0, fmt.Errorf("want octal permissions such as 0660, got %q", c.LMTPSocketMode)
	}
	return fs.FileMode(m), nil
}

func printUsage(w io.Writer) {
	fmt.Fprintf(w, "lmtp-webhook %s: mail in over LMTP, JSON out to a webhook.\n\n", version)
	fmt.Fprintf(w, "Usage:\n  lmtp-webhook              run, configured by the environment below\n")
	fmt.Fprintf(w, "  lmtp-webhook healthcheck  exit 0 if the admin server on HTTP_LISTEN reports ready\n\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tDEFAULT\tMEANING")
	_ = envconfig.Usagef("", &config{}, tw, "{{range .}}{{usage_key .}}\t{{if usage_default .}}{{usage_default .}}{{else if eq (usage_required .) \"true\"}}(required){{else}}(empty){{end}}\t{{usage_description .}}\n{{end}}")
	tw.Flush()
}

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
		var ce *configError
		if errors.As(err, &ce) {
			fmt.Fprintf(os.Stderr, "lmtp-webhook: configuration: %v\n", err)
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "lmtp-webhook: %v\n", err)
		os.Exit(1)
	}
}

func newLogger(cfg *config) zerolog.Logger {
	level, _ := zerolog.ParseLevel(cfg.LogLevel)
	var w io.Writer = os.Stderr
	if cfg.LogFormat == "console" {
		// Colours only on a terminal, not in docker logs or files.
		w = zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: time.RFC3339, NoColor: !isatty.IsTerminal(os.Stderr.Fd())}
	}
	zerolog.DurationFieldUnit = time.Millisecond
	zerolog.DurationFieldInteger = false
	return zerolog.New(w).Level(level).With().Timestamp().Logger()
}

// run wires the servers, waits for a signal and shuts down in order:
// listener first, then transactions in flight, then the HTTP client.
func run(cfg *config) error {
	log := newLogger(cfg)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	secret, _ := wire.ParseSecret(cfg.WebhookSecret)
	routes, err := webhook.ParseRoutes(cfg.WebhookRoutes)
	if err != nil {
		return &configError{"WEBHOOK_ROUTES", err}
	}
	client, err := webhook.New(webhook.Config{
		URL:     cfg.WebhookURL,
		Routes:  routes,
		Secret:  secret,
		Timeout: cfg.WebhookTimeout,
		Headers: cfg.WebhookHeaders,
		Parse: payload.Options{
			OmitAttachments: cfg.WebhookAttachments == "omit",
			IncludeRaw:      cfg.WebhookIncludeRaw,
		},
		Retry: retry.Policy{
			MaxAttempts:     cfg.RetryMaxAttempts,
			InitialInterval: cfg.RetryInitialInterval,
			MaxInterval:     cfg.RetryMaxInterval,
			MaxElapsed:      cfg.RetryMaxElapsed,
		},
		MaxConns: cfg.WebhookMaxConns,
		Metrics:  webhook.NewMetrics(reg),
		Version:  version,
	})
	if err != nil {
		return &configError{"WEBHOOK_URL", err}
	}
	defer client.Close()

	var checker lmtp.Checker
	if cfg.CheckURL != "" {
		ch, err := client.NewChecker(cfg.CheckURL, cfg.CheckTimeout)
		if err != nil {
			return &configError{"CHECK_URL", err}
		}
		checker = ch
	}

	mode, _ := cfg.socketMode()
	srv, err := lmtp.New(lmtp.Config{
		Listen:          cfg.LMTPListen,
		SocketMode:      mode,
		Hostname:        cfg.LMTPHostname,
		Domains:         cfg.LMTPDomains,
		MaxMessageBytes: cfg.LMTPMaxMessageBytes,
		MaxRecipients:   cfg.LMTPMaxRecipients,
		MaxConnections:  cfg.LMTPMaxConnections,
		ReadTimeout:     cfg.LMTPReadTimeout,
		WriteTimeout:    cfg.LMTPWriteTimeout,
		Deliverer:       client,
		Checker:         checker,
		Logger:          log,
		Metrics:         lmtp.NewMetrics(reg),
	})
	if err != nil {
		return err
	}
	l, err := srv.Listen()
	if err != nil {
		return err
	}

	var ready atomic.Bool
	var admin *http.Server
	if cfg.HTTPListen != "" {
		al, err := net.Listen("tcp", cfg.HTTPListen)
		if err != nil {
			l.Close()
			return fmt.Errorf("admin: listen: %w", err)
		}
		admin = &http.Server{Handler: adminRouter(&ready, reg), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := admin.Serve(al); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error().Err(err).Msg("admin server stopped")
			}
		}()
		log.Info().Str("addr", al.Addr().String()).Msg("admin listening")
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	ready.Store(true)
	log.Info().Str("version", version).Str("webhook", redact(cfg.WebhookURL)).
		Str("routes", routes.String()).Bool("signed", secret != nil).Msg("started")

	select {
	case err := <-served:
		return fmt.Errorf("lmtp: serve: %w", err)
	case <-ctx.Done():
	}
	stop()
	ready.Store(false)
	log.Info().Dur("timeout", cfg.ShutdownTimeout).Msg("draining")
	dctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
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

// adminRouter serves the operator's endpoints.
func adminRouter(ready *atomic.Bool, reg *prometheus.Registry) http.Handler {
	r := chi.NewRouter()
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	r.Get("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !ready.Load() {
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

// healthcheck asks the admin server whether the process is ready; it
// lets a container image check health without a shell or curl.
func healthcheck() int {
	addr := os.Getenv("HTTP_LISTEN")
	if _, set := os.LookupEnv("HTTP_LISTEN"); !set {
		addr = "127.0.0.1:8080"
	}
	if addr == "" {
		fmt.Fprintln(os.Stderr, "healthcheck: HTTP_LISTEN is empty, no admin server to ask")
		return 1
	}
	host, port, err := net.SplitHostPort(addr)
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

// redact hides the password of a URL for the logs.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Redacted()
}
