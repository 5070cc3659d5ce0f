package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/rs/zerolog"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/retry"
	"github.com/lmtp-webhook/lmtp-webhook/webhook"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/payload"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/wire"
)

// env is the whole configuration as the environment gives it. Each
// default is written once: in its tag, or, when a package applies it to
// a zero value too, as that package's constant in envDefaults.
type env struct {
	WebhookURL         string            `envconfig:"WEBHOOK_URL" required:"true" desc:"where each delivery is POSTed; https://user:pass@host/... gives Basic auth (never logged)"`
	WebhookSecret      string            `envconfig:"WEBHOOK_SECRET" desc:"Standard Webhooks secret (whsec_ + base64); when set, every request is signed"`
	WebhookTimeout     time.Duration     `envconfig:"WEBHOOK_TIMEOUT" desc:"one attempt's time limit"`
	WebhookHeaders     map[string]string `envconfig:"WEBHOOK_HEADERS" desc:"extra request headers, Name:value,Name2:value2"`
	WebhookAttachments string            `envconfig:"WEBHOOK_ATTACHMENTS" default:"inline" desc:"inline: base64 content in the payload; omit: metadata only"`
	WebhookIncludeRaw  bool              `envconfig:"WEBHOOK_INCLUDE_RAW" default:"false" desc:"also send the whole message, base64, as raw"`
	WebhookRoutes      string            `envconfig:"WEBHOOK_ROUTES" desc:"per-recipient URLs, pattern=url,... (exact address, *@domain, *); most specific wins, the rest go to WEBHOOK_URL"`
	WebhookMaxConns    int               `envconfig:"WEBHOOK_MAX_CONNS" desc:"most connections open to each webhook host; more requests wait for a free one"`

	RetryMaxAttempts     int           `envconfig:"RETRY_MAX_ATTEMPTS" default:"4" desc:"attempts per recipient inside one LMTP transaction"`
	RetryInitialInterval time.Duration `envconfig:"RETRY_INITIAL_INTERVAL" default:"500ms" desc:"first backoff between attempts (exponential, with jitter)"`
	RetryMaxInterval     time.Duration `envconfig:"RETRY_MAX_INTERVAL" default:"10s" desc:"longest backoff between attempts"`
	RetryMaxElapsed      time.Duration `envconfig:"RETRY_MAX_ELAPSED" default:"60s" desc:"total budget per recipient from end of DATA; keep it well under the MTA's lmtp_data_done_timeout"`

	CheckURL     string        `envconfig:"CHECK_URL" desc:"optional sender and recipient check at MAIL and RCPT, answered like deliveries"`
	CheckTimeout time.Duration `envconfig:"CHECK_TIMEOUT" desc:"time limit of one check"`

	LMTPListen          string        `envconfig:"LMTP_LISTEN" default:"127.0.0.1:2424" desc:"host:port, or unix:/path/to.sock"`
	LMTPSocketMode      string        `envconfig:"LMTP_SOCKET_MODE" desc:"permissions of a unix socket (octal)"`
	LMTPHostname        string        `envconfig:"LMTP_HOSTNAME" desc:"name in the greeting (default: the host name)"`
	LMTPDomains         []string      `envconfig:"LMTP_DOMAINS" default:"*" desc:"comma list of accepted recipient domains; * accepts any; others get 550 5.1.2 at RCPT"`
	LMTPMaxMessageBytes int64         `envconfig:"LMTP_MAX_MESSAGE_BYTES" default:"26214400" desc:"advertised with SIZE; larger gets 552 5.3.4"`
	LMTPMaxRecipients   int           `envconfig:"LMTP_MAX_RECIPIENTS" default:"100" desc:"more recipients get 452 4.5.3"`
	LMTPMaxConnections  int           `envconfig:"LMTP_MAX_CONNECTIONS" default:"100" desc:"more connections get 421 4.4.5 at connect"`
	LMTPReadTimeout     time.Duration `envconfig:"LMTP_READ_TIMEOUT" default:"5m" desc:"idle client limit: each command, and the whole message after DATA"`
	LMTPWriteTimeout    time.Duration `envconfig:"LMTP_WRITE_TIMEOUT" default:"1m" desc:"limit for writing each reply"`

	AdminEnv
	LMTPLimitsEnv
	TrustEnv
	MemoryEnv
	StorageEnv
	ShutdownTimeout time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"30s" desc:"drain time on SIGTERM"`
	LogLevel        string        `envconfig:"LOG_LEVEL" default:"info" desc:"zerolog level: debug, info, warn, error"`
	LogFormat       string        `envconfig:"LOG_FORMAT" default:"json" desc:"json or console"`
}

// AdminEnv is the part of env the healthcheck subcommand reads too. It is
// exported only because envconfig reads exported fields only.
type AdminEnv struct {
	HTTPListen string `envconfig:"HTTP_LISTEN" default:"127.0.0.1:8080" desc:"admin server (/healthz /readyz /metrics /openapi.yaml); empty disables it"`
}

// envDefaults are the defaults that packages also apply to their zero
// values, taken from them; envconfig keeps a field as it is when its
// variable is unset and its tag has no default.
func envDefaults() env {
	return env{
		WebhookTimeout:  webhook.DefaultTimeout,
		WebhookMaxConns: webhook.DefaultMaxConns,
		CheckTimeout:    webhook.DefaultCheckTimeout,
		LMTPSocketMode:  fmt.Sprintf("%04o", lmtp.DefaultSocketMode),
		LMTPLimitsEnv:   lmtpLimitsDefaults(),
	}
}

// settings are the configuration's ready values: every variable read,
// checked and turned into what the packages take. Nothing that uses them
// can find a configuration error.
type settings struct {
	webhook      webhook.Config
	checkURL     string
	checkTimeout time.Duration
	lmtp         lmtp.Config
	lmtpLimits   lmtpLimits
	httpListen   string
	shutdown     time.Duration
	logLevel     zerolog.Level
	logConsole   bool
	trust        trustSettings
	// redactedURL is WEBHOOK_URL without credentials or query, for the log.
	redactedURL string
	memory      memorySettings
	// storage is nil when STORAGE_URL is empty.
	storage *storageSettings
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

// loadConfig reads the environment into settings. It is the only place
// that finds configuration errors; each is a *configError.
func loadConfig() (*settings, error) {
	if key := missingRequired(reflect.TypeFor[env]()); key != "" {
		return nil, &configError{key, errors.New("required, not set")}
	}
	e := envDefaults()
	if err := envconfig.Process("", &e); err != nil {
		var pe *envconfig.ParseError
		if errors.As(err, &pe) {
			return nil, &configError{pe.KeyName, fmt.Errorf("invalid %s %q: %w", pe.TypeName, pe.Value, unwrapAll(pe.Err))}
		}
		return nil, err
	}
	if err := e.check(); err != nil {
		return nil, err
	}
	s, err := e.settings()
	if err != nil {
		return nil, err
	}
	if s.lmtpLimits, err = e.LMTPLimitsEnv.limits(); err != nil {
		return nil, err
	}
	if s.trust, err = e.TrustEnv.trust(e.LMTPMaxMessageBytes); err != nil {
		return nil, err
	}
	if s.memory, err = e.MemoryEnv.memory(); err != nil {
		return nil, err
	}
	if s.storage, err = e.StorageEnv.storage(); err != nil {
		return nil, err
	}
	return s, nil
}

// missingRequired returns the first required variable of t that is not
// set, so that the error can name it without reading envconfig's text.
func missingRequired(t reflect.Type) string {
	for i := range t.NumField() {
		f := t.Field(i)
		key := f.Tag.Get("envconfig")
		if _, set := os.LookupEnv(key); f.Tag.Get("required") == "true" && !set {
			return key
		}
	}
	return ""
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

// check refuses values of the right type that make no sense.
func (e *env) check() error {
	positive := []struct {
		key string
		d   time.Duration
	}{
		{"WEBHOOK_TIMEOUT", e.WebhookTimeout},
		{"RETRY_MAX_ELAPSED", e.RetryMaxElapsed},
		{"CHECK_TIMEOUT", e.CheckTimeout},
		{"LMTP_READ_TIMEOUT", e.LMTPReadTimeout},
		{"LMTP_WRITE_TIMEOUT", e.LMTPWriteTimeout},
		{"SHUTDOWN_TIMEOUT", e.ShutdownTimeout},
	}
	for _, p := range positive {
		if p.d <= 0 {
			return &configError{p.key, fmt.Errorf("must be a positive duration, got %s", p.d)}
		}
	}
	switch {
	case e.RetryInitialInterval < 0:
		return &configError{"RETRY_INITIAL_INTERVAL", errors.New("must not be negative")}
	case e.RetryMaxInterval < e.RetryInitialInterval:
		return &configError{"RETRY_MAX_INTERVAL", errors.New("must not be below RETRY_INITIAL_INTERVAL")}
	case e.RetryMaxAttempts < 1:
		return &configError{"RETRY_MAX_ATTEMPTS", errors.New("must be at least 1")}
	case e.WebhookAttachments != "inline" && e.WebhookAttachments != "omit":
		return &configError{"WEBHOOK_ATTACHMENTS", fmt.Errorf("must be inline or omit, got %q", e.WebhookAttachments)}
	case e.WebhookMaxConns < 1:
		return &configError{"WEBHOOK_MAX_CONNS", errors.New("must be at least 1")}
	case e.LMTPMaxMessageBytes < 1:
		return &configError{"LMTP_MAX_MESSAGE_BYTES", errors.New("must be at least 1")}
	case e.LMTPMaxRecipients < 1:
		return &configError{"LMTP_MAX_RECIPIENTS", errors.New("must be at least 1")}
	case e.LMTPMaxConnections < 1:
		return &configError{"LMTP_MAX_CONNECTIONS", errors.New("must be at least 1")}
	case e.LogFormat != "json" && e.LogFormat != "console":
		return &configError{"LOG_FORMAT", fmt.Errorf("must be json or console, got %q", e.LogFormat)}
	}
	if err := checkLMTPListen(e.LMTPListen); err != nil {
		return &configError{"LMTP_LISTEN", err}
	}
	if e.HTTPListen != "" {
		if err := checkHostPort(e.HTTPListen); err != nil {
			return &configError{"HTTP_LISTEN", err}
		}
	}
	for name := range e.WebhookHeaders {
		if name == "" || strings.ContainsAny(name, " \t\r\n:") {
			return &configError{"WEBHOOK_HEADERS", fmt.Errorf("bad header name %q", name)}
		}
	}
	return nil
}

// settings turns checked values into their ready forms.
func (e *env) settings() (*settings, error) {
	level, err := zerolog.ParseLevel(e.LogLevel)
	if err != nil || e.LogLevel == "" {
		return nil, &configError{"LOG_LEVEL", fmt.Errorf("unknown level %q", e.LogLevel)}
	}
	mode, err := strconv.ParseUint(e.LMTPSocketMode, 8, 32)
	if err != nil || mode > 0o777 || mode == 0 {
		return nil, &configError{"LMTP_SOCKET_MODE", fmt.Errorf("want octal permissions such as 0660, got %q", e.LMTPSocketMode)}
	}
	secret, err := wire.ParseSecret(e.WebhookSecret)
	if err != nil {
		return nil, &configError{"WEBHOOK_SECRET", err}
	}
	if err := webhook.CheckURL(e.WebhookURL); err != nil {
		return nil, &configError{"WEBHOOK_URL", err}
	}
	routes, err := webhook.ParseRoutes(e.WebhookRoutes)
	if err != nil {
		return nil, &configError{"WEBHOOK_ROUTES", err}
	}
	if e.CheckURL != "" {
		if err := webhook.CheckURL(e.CheckURL); err != nil {
			return nil, &configError{"CHECK_URL", err}
		}
	}
	return &settings{
		webhook: webhook.Config{
			URL:     e.WebhookURL,
			Routes:  routes,
			Secret:  secret,
			Timeout: e.WebhookTimeout,
			Headers: e.WebhookHeaders,
			Parse: payload.Options{
				OmitAttachments: e.WebhookAttachments == "omit",
				IncludeRaw:      e.WebhookIncludeRaw,
			},
			Retry: retry.Policy{
				MaxAttempts:     e.RetryMaxAttempts,
				InitialInterval: e.RetryInitialInterval,
				MaxInterval:     e.RetryMaxInterval,
				MaxElapsed:      e.RetryMaxElapsed,
			},
			MaxConns: e.WebhookMaxConns,
		},
		checkURL:     e.CheckURL,
		checkTimeout: e.CheckTimeout,
		lmtp: lmtp.Config{
			Listen:          e.LMTPListen,
			SocketMode:      fs.FileMode(mode),
			Hostname:        e.LMTPHostname,
			Domains:         e.LMTPDomains,
			MaxMessageBytes: e.LMTPMaxMessageBytes,
			MaxRecipients:   e.LMTPMaxRecipients,
			MaxConnections:  e.LMTPMaxConnections,
			ReadTimeout:     e.LMTPReadTimeout,
			WriteTimeout:    e.LMTPWriteTimeout,
		},
		httpListen:  e.HTTPListen,
		shutdown:    e.ShutdownTimeout,
		logLevel:    level,
		logConsole:  e.LogFormat == "console",
		redactedURL: redact(e.WebhookURL),
	}, nil
}

// checkLMTPListen accepts host:port or unix:/path.
func checkLMTPListen(addr string) error {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		if path == "" {
			return errors.New("unix: needs a path")
		}
		return nil
	}
	if addr == "" {
		return errors.New("must not be empty")
	}
	return checkHostPort(addr)
}

// checkHostPort accepts host:port with a numeric port, without looking
// the host up.
func checkHostPort(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want host:port, got %q: %w", addr, err)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && port != "0") {
		return fmt.Errorf("want host:port with a port number, got %q", addr)
	}
	return nil
}

// redact hides a URL's credentials for the logs: see webhook.LogURL.
func redact(raw string) string { return webhook.LogURL(raw) }

// printUsage writes -h: the commands, then every variable with its
// default and meaning.
func printUsage(w io.Writer) {
	fmt.Fprintf(w, "lmtp-webhook %s: mail in over LMTP, JSON out to a webhook.\n\n", version)
	fmt.Fprintf(w, "Usage:\n  lmtp-webhook              run, configured by the environment below\n")
	fmt.Fprintf(w, "  lmtp-webhook healthcheck  exit 0 if the admin server on HTTP_LISTEN reports ready\n")
	fmt.Fprintf(w, "  lmtp-webhook -version     print the version and exit\n\n")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIABLE\tDEFAULT\tMEANING")
	defaults := envDefaults()
	_ = envconfig.Usagef("", &defaults, tw, "{{range .}}{{usage_key .}}\t"+
		"{{if usage_default .}}{{usage_default .}}{{else if eq (usage_required .) \"true\"}}(required){{else if .Field.IsZero}}(empty){{else}}{{.Field}}{{end}}"+
		"\t{{usage_description .}}\n{{end}}")
	tw.Flush()
}
