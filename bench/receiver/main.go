// Command receiver is the benchmark's webhook: it reads each request body
// to the end, checks that it looks like a delivery, answers 200 and counts.
// It does as little as it can, so that the bridge's own cost dominates.
//
// GET /count answers {"deliveries":N,"bad":M,"bytes":B}: deliveries
// answered 200, requests refused as malformed, and body bytes read.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"
	"sync"
	"sync/atomic"
)

type counter struct {
	deliveries atomic.Int64
	bad        atomic.Int64
	bytes      atomic.Int64
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// ServeHTTP counts a delivery, or answers GET /count.
func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/count" {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]int64{
			"deliveries": c.deliveries.Load(),
			"bad":        c.bad.Load(),
			"bytes":      c.bytes.Load(),
		})
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 1<<20 {
			buf.Reset()
			bufPool.Put(buf)
		}
	}()
	buf.Reset()
	n, err := io.Copy(buf, r.Body)
	c.bytes.Add(n)
	b := buf.Bytes()
	// A delivery starts with its id and ends its object; its length is the
	// one announced, and its webhook-id header is present.
	ok := err == nil && bytes.HasPrefix(b, []byte(`{"id":"msg_`)) && bytes.HasSuffix(b, []byte("}")) &&
		r.Header.Get("webhook-id") != "" && (r.ContentLength < 0 || r.ContentLength == n)
	if !ok {
		c.bad.Add(1)
		http.Error(w, "not a delivery", http.StatusBadRequest)
		return
	}
	c.deliveries.Add(1)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	flag.Parse()
	srv := &http.Server{Addr: *listen, Handler: &counter{}}
	log.SetFlags(0)
	log.Printf("receiver listening on %s", *listen)
	if err := srv.ListenAndServe(); err != nil {
		log.Fatal(err)
	}
}
