// Command scrape reads the figures bench/run.sh needs from the bridge's
// /metrics and the benchmark receiver's /count.
//
//	scrape get URL NAME...         print the values of unlabelled metrics
//	scrape deliveries URL          print the receiver's delivery count and bad count
//	scrape quantiles BEFORE AFTER  p50 and p99 of the reply-duration histogram
//	                               between two saved /metrics texts
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
)

const histogram = "lmtp_webhook_reply_duration_seconds"

func main() {
	if len(os.Args) < 3 {
		usage()
	}
	switch os.Args[1] {
	case "get":
		m, err := parse(fetch(os.Args[2]))
		check(err)
		var out []string
		for _, name := range os.Args[3:] {
			v, ok := m[name]
			if !ok {
				check(fmt.Errorf("no metric %s", name))
			}
			out = append(out, strconv.FormatFloat(v, 'f', -1, 64))
		}
		fmt.Println(strings.Join(out, " "))
	case "deliveries":
		var c struct{ Deliveries, Bad, Bytes int64 }
		check(json.NewDecoder(strings.NewReader(fetch(os.Args[2]))).Decode(&c))
		fmt.Println(c.Deliveries, c.Bad, c.Bytes)
	case "quantiles":
		if len(os.Args) != 4 {
			usage()
		}
		before, err := parseFile(os.Args[2])
		check(err)
		after, err := parseFile(os.Args[3])
		check(err)
		fmt.Println(quantiles(before, after))
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: scrape get URL NAME... | deliveries URL | quantiles BEFORE AFTER")
	os.Exit(2)
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "scrape:", err)
		os.Exit(1)
	}
}

func fetch(url string) string {
	resp, err := http.Get(url)
	check(err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	check(err)
	if resp.StatusCode != http.StatusOK {
		check(fmt.Errorf("%s: %s", url, resp.Status))
	}
	return string(b)
}

func parseFile(path string) (map[string]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parse(string(b))
}

// parse reads the Prometheus text format into "name{labels}" -> value.
func parse(text string) (map[string]float64, error) {
	m := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			return nil, fmt.Errorf("bad metrics line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("bad metrics line %q: %w", line, err)
		}
		m[line[:i]] = v
	}
	return m, sc.Err()
}

type bucket struct {
	le    float64
	count float64
}

// quantiles interpolates linearly inside the histogram's buckets, as
// Prometheus's histogram_quantile does.
func quantiles(before, after map[string]float64) string {
	var bs []bucket
	for k, v := range after {
		rest, ok := strings.CutPrefix(k, histogram+`_bucket{le="`)
		if !ok {
			continue
		}
		le, err := strconv.ParseFloat(strings.TrimSuffix(rest, `"}`), 64)
		if err != nil {
			continue
		}
		bs = append(bs, bucket{le, v - before[k]})
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].le < bs[j].le })
	total := after[histogram+"_count"] - before[histogram+"_count"]
	sum := after[histogram+"_sum"] - before[histogram+"_sum"]
	if total <= 0 || len(bs) == 0 {
		return "replies=0"
	}
	q := func(p float64) string {
		rank := p * total
		lo, prev := 0.0, 0.0
		for _, b := range bs {
			if b.count >= rank {
				if math.IsInf(b.le, 1) {
					return fmt.Sprintf(">%gms", lo*1000)
				}
				frac := 0.0
				if b.count > prev {
					frac = (rank - prev) / (b.count - prev)
				}
				return fmt.Sprintf("%.1fms", (lo+(b.le-lo)*frac)*1000)
			}
			lo, prev = b.le, b.count
		}
		return "?"
	}
	return fmt.Sprintf("replies=%.0f mean=%.1fms p50=%s p99=%s", total, sum/total*1000, q(0.5), q(0.99))
}
