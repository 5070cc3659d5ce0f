// Command memload shows MEMORY_LIMIT at work. It starts the built bridge
// with that limit and bench/receiver as its webhook, on loopback, then
// sends from concurrent clients one large message each of control
// characters (which JSON would write six bytes each) to several
// recipients, as an MTA would: SIZE declared, and what is deferred sent
// again after a pause. It prints the bridge's peak RSS (VmHWM) next to
// the limit, how many transactions were deferred, and fails unless every
// message reached the receiver for every recipient, no reply was a 5xx,
// and the peak stayed under -max-rss.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	bridge := flag.String("bridge", "./lmtp-webhook", "the bridge's binary")
	receiver := flag.String("receiver", "./receiver", "bench/receiver's binary")
	clients := flag.Int("clients", 20, "concurrent clients, one message each")
	size := flag.Int("size", 20<<20, "message size in bytes")
	rcpts := flag.Int("rcpts", 5, "recipients per message")
	limit := flag.String("memory-limit", "600MiB", "MEMORY_LIMIT of the bridge")
	maxRSS := flag.Int64("max-rss", 750, "fail if the bridge's peak RSS is higher, in MiB")
	rounds := flag.Int("rounds", 20, "most times a deferred message is sent again")
	pause := flag.Duration("pause", 2*time.Second, "wait before a deferred message is sent again")
	flag.Parse()

	rcvAddr, lmtpAddr := freeAddr(), freeAddr()
	rcv := start(*receiver, nil, "-listen", rcvAddr)
	defer stop(rcv)
	waitHTTP("http://" + rcvAddr + "/count")
	br := start(*bridge, []string{
		"WEBHOOK_URL=http://" + rcvAddr + "/hook", "LMTP_LISTEN=" + lmtpAddr, "HTTP_LISTEN=",
		"MEMORY_LIMIT=" + *limit, "LMTP_MAX_CONNECTIONS=100", "LOG_LEVEL=warn",
		"RETRY_MAX_ELAPSED=120s", "WEBHOOK_TIMEOUT=60s",
	})
	defer stop(br)
	waitTCP(lmtpAddr)

	to := make([]string, *rcpts)
	for i := range to {
		to[i] = fmt.Sprintf("user%d@example.com", i)
	}
	start := time.Now()
	var mu sync.Mutex
	var deferred, sent int
	var failures []string
	var wg sync.WaitGroup
	for i := range *clients {
		wg.Go(func() {
			for round := 0; ; round++ {
				replies, err := send(lmtpAddr, i, *size, to)
				mu.Lock()
				sent++
				mu.Unlock()
				if err != nil {
					fail(&mu, &failures, fmt.Sprintf("message %d: %v", i, err))
					return
				}
				again := false
				for _, r := range replies {
					switch {
					case strings.HasPrefix(r, "250 "):
					case strings.HasPrefix(r, "4"):
						again = true
					default:
						fail(&mu, &failures, fmt.Sprintf("message %d: %s", i, r))
						return
					}
				}
				if !again {
					return
				}
				mu.Lock()
				deferred++
				mu.Unlock()
				if round == *rounds {
					fail(&mu, &failures, fmt.Sprintf("message %d still deferred after %d rounds: %s", i, round, replies[0]))
					return
				}
				time.Sleep(*pause) // as an MTA's queue would, before the next attempt
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	hwm := vmHWM(br.Process.Pid)
	got := count("http://" + rcvAddr + "/count")

	want := int64(*clients * *rcpts)
	fmt.Printf("memload: %d clients x %d MiB of control characters x %d recipients, MEMORY_LIMIT=%s\n", *clients, *size>>20, *rcpts, *limit)
	fmt.Printf("  transactions %d, deferred %d (451), delivered %d of %d deliveries, in %.1fs\n", sent, deferred, got, want, elapsed.Seconds())
	fmt.Printf("  bridge peak RSS (VmHWM) %d MiB, MEMORY_LIMIT %s, target < %d MiB\n", hwm>>20, *limit, *maxRSS)
	ok := len(failures) == 0 && got == want && hwm>>20 < *maxRSS
	for _, f := range failures {
		fmt.Println("  FAIL:", f)
	}
	if got != want {
		fmt.Printf("  FAIL: the receiver counted %d deliveries, want %d\n", got, want)
	}
	if hwm>>20 >= *maxRSS {
		fmt.Printf("  FAIL: peak RSS %d MiB, want under %d MiB\n", hwm>>20, *maxRSS)
	}
	if !ok {
		stop(br)
		stop(rcv)
		os.Exit(1)
	}
	fmt.Println("  every message was delivered to every recipient")
}

func fail(mu *sync.Mutex, failures *[]string, f string) {
	mu.Lock()
	*failures = append(*failures, f)
	mu.Unlock()
}

// send runs one transaction of message i, streamed as it is generated so
// that the load generator holds none of it, and returns the replies.
func send(addr string, i, size int, to []string) ([]string, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Minute))
	r, w := bufio.NewReader(c), bufio.NewWriterSize(c, 64<<10)
	cmd := func(line, want string) error {
		if line != "" {
			fmt.Fprintf(w, "%s\r\n", line)
			if err := w.Flush(); err != nil {
				return err
			}
		}
		got, err := reply(r)
		if err == nil && !strings.HasPrefix(got, want) {
			err = fmt.Errorf("%q: %s", line, got)
		}
		return err
	}
	if err := cmd("", "220"); err != nil {
		return nil, err
	}
	steps := []string{"LHLO memload.example.org", fmt.Sprintf("MAIL FROM:<load@example.org> SIZE=%d", size)}
	for _, rc := range to {
		steps = append(steps, "RCPT TO:<"+rc+">")
	}
	for _, s := range steps {
		if err := cmd(s, "250"); err != nil {
			return nil, err
		}
	}
	if err := cmd("DATA", "354"); err != nil {
		return nil, err
	}
	writeMessage(w, i, size)
	w.WriteString(".\r\n")
	if err := w.Flush(); err != nil {
		return nil, err
	}
	replies := make([]string, len(to))
	for k := range replies {
		if replies[k], err = reply(r); err != nil {
			return nil, err
		}
	}
	_ = cmd("QUIT", "221")
	return replies, nil
}

// writeMessage writes message i: a short header, then lines of control
// characters up to size bytes. No line starts with a dot.
func writeMessage(w *bufio.Writer, i, size int) {
	n, _ := fmt.Fprintf(w, "From: load@example.org\r\nTo: user0@example.com\r\nSubject: memload %d\r\nMessage-ID: <memload-%d@example.org>\r\nContent-Type: text/plain\r\n\r\n", i, i)
	line := "\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f" +
		"\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\r\n"
	for ; n < size; n += len(line) {
		w.WriteString(line)
	}
}

// reply reads one reply and returns its last line.
func reply(r *bufio.Reader) (string, error) {
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) < 4 || line[3] != '-' {
			return line, nil
		}
	}
}

func start(bin string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "memload:", err)
		os.Exit(1)
	}
	return cmd
}

func stop(cmd *exec.Cmd) {
	if cmd.ProcessState == nil {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "memload:", err)
		os.Exit(1)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitTCP(addr string) {
	for range 100 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Fprintln(os.Stderr, "memload: nothing listens on", addr)
	os.Exit(1)
}

func waitHTTP(url string) {
	for range 100 {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Fprintln(os.Stderr, "memload: no answer from", url)
	os.Exit(1)
}

// count returns the deliveries the receiver answered 200.
func count(url string) int64 {
	resp, err := http.Get(url)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	var c struct{ Deliveries int64 }
	b, _ := io.ReadAll(resp.Body)
	if json.Unmarshal(b, &c) != nil {
		return -1
	}
	return c.Deliveries
}

// vmHWM returns the peak resident set size of a process, in bytes.
func vmHWM(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return -1
}
