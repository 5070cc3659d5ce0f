package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/lmtp/memory"
	"github.com/lmtp-webhook/lmtp-webhook/webhook"
)

// MemoryEnv is the part of env that bounds what hostile mail can cost:
// the memory messages in flight may hold, and the time a parse may take.
// It is exported only because envconfig reads exported fields only.
type MemoryEnv struct {
	MemoryLimit  string        `envconfig:"MEMORY_LIMIT" desc:"what messages in flight may hold, bytes or with a KiB/MiB/GiB suffix; sets the Go runtime's soft limit too; default 75% of the cgroup's memory limit, or 1GiB without one"`
	ParseTimeout time.Duration `envconfig:"PARSE_TIMEOUT" default:"10s" desc:"longest parse of one message; past it the message is posted raw with a severe error"`
}

// Bounds of MEMORY_LIMIT and its default.
const (
	minMemoryLimit     = 32 << 20
	defaultMemoryLimit = 1 << 30
	// cgroupShare is the part of a cgroup's limit taken by default: the
	// rest is for the runtime, the connections and the garbage between
	// two collections.
	cgroupShare = 0.75
)

// cgroupFiles hold the container's memory limit: cgroup v2, then v1.
var cgroupFiles = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// memorySettings are MemoryEnv's ready values.
type memorySettings struct {
	// memoryLimit is MEMORY_LIMIT in bytes: the budget's size and the
	// runtime's soft limit.
	memoryLimit  int64
	budget       *memory.Budget
	parseTimeout time.Duration
}

// memory checks MemoryEnv and returns its ready values.
func (e *MemoryEnv) memory() (memorySettings, error) {
	if e.ParseTimeout <= 0 {
		return memorySettings{}, &configError{"PARSE_TIMEOUT", fmt.Errorf("must be a positive duration, got %s", e.ParseTimeout)}
	}
	limit, err := memoryLimit(e.MemoryLimit, cgroupFiles)
	if err != nil {
		return memorySettings{}, &configError{"MEMORY_LIMIT", err}
	}
	return memorySettings{
		memoryLimit:  limit,
		budget:       memory.NewBudget(limit, memory.DefaultWait),
		parseTimeout: e.ParseTimeout,
	}, nil
}

// applyTo sets the Go runtime's soft limit, and gives the budget to the
// LMTP server, which charges messages to it, and the parse time budget to
// the payload.
func (m memorySettings) applyTo(w *webhook.Config, l *lmtp.Config) {
	debug.SetMemoryLimit(m.memoryLimit)
	if os.Getenv("GOGC") == "" { // an operator's GOGC is theirs
		memory.KeepHeadroom(gcHeadroom(m.memoryLimit))
	}
	w.Parse.ParseTimeout = m.parseTimeout
	l.Budget = m.budget
}

// gcHeadroom is how much the heap may grow past what is live before a
// collection (see memory.KeepHeadroom): 32 MiB, or a sixteenth of a
// smaller MEMORY_LIMIT. Under a stream of small messages this took the
// collector's share of the CPU from about a tenth to a few percent.
func gcHeadroom(limit int64) int64 {
	return min(32<<20, limit/16)
}

// memoryLimit reads MEMORY_LIMIT, or makes its default from the first of
// files that holds a limit.
func memoryLimit(v string, files []string) (int64, error) {
	if v == "" {
		for _, f := range files {
			if n, ok := cgroupLimit(f); ok {
				return max(int64(float64(n)*cgroupShare), minMemoryLimit), nil
			}
		}
		return defaultMemoryLimit, nil
	}
	n, err := parseBytes(v)
	if err != nil {
		return 0, err
	}
	if n < minMemoryLimit {
		return 0, fmt.Errorf("must be at least %dMiB, got %q", minMemoryLimit>>20, v)
	}
	return n, nil
}

// cgroupLimit reads a cgroup memory limit file; "max", or v1's huge
// number, means none.
func cgroupLimit(path string) (int64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n <= 0 || n >= 1<<50 {
		return 0, false
	}
	return n, true
}

// byteUnits are the suffixes parseBytes knows, longest first.
var byteUnits = []struct {
	suffix string
	shift  uint
}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}}

// parseBytes reads a byte count: a whole number, optionally followed by
// B, KiB, MiB, GiB or TiB.
func parseBytes(v string) (int64, error) {
	num, shift := strings.TrimSpace(v), uint(0)
	for _, u := range byteUnits {
		if s, ok := strings.CutSuffix(num, u.suffix); ok {
			num, shift = strings.TrimSpace(s), u.shift
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("want bytes, or a number with a KiB, MiB or GiB suffix, got %q", v)
	}
	if n > (1<<62)>>shift {
		return 0, errors.New("too large")
	}
	return n << shift, nil
}
