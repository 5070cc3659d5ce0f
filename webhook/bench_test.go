package webhook

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/lmtp-webhook/lmtp-webhook/lmtp"
	"github.com/lmtp-webhook/lmtp-webhook/retry"
	"github.com/lmtp-webhook/lmtp-webhook/webhook/webhooktest"
)

func benchMessage(data []byte, rcpts int) *lmtp.Message {
	msg := &lmtp.Message{
		Envelope: lmtp.Envelope{
			From:       "alice@example.org",
			Helo:       "mx.example.com",
			RemoteAddr: "192.0.2.25:41234",
		},
		Data:       data,
		ReceivedAt: time.Date(2025, 6, 2, 10, 0, 1, 0, time.UTC),
	}
	for i := range rcpts {
		msg.Recipients = append(msg.Recipients, fmt.Sprintf("user%d+tag@example.com", i))
	}
	return msg
}

// BenchmarkDeliver measures a whole delivery in process: parse, encode,
// and one POST per recipient over loopback HTTP to a receiver that reads
// each body to the end and answers 200.
func BenchmarkDeliver(b *testing.B) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		requests.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	c, err := New(Config{URL: srv.URL, Retry: retry.Policy{MaxAttempts: 1}})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	for _, in := range webhooktest.BenchMessages("testdata/bench") {
		for _, rcpts := range []int{1, 5} {
			b.Run(fmt.Sprintf("%s/rcpts=%d", in.Name, rcpts), func(b *testing.B) {
				msg := benchMessage(in.Load(b), rcpts)
				b.ReportAllocs()
				b.SetBytes(int64(len(msg.Data)))
				start := requests.Load()
				for b.Loop() {
					msg.ReceivedAt = time.Now()
					c.Deliver(ctx, msg, func(i int, r *smtp.SMTPError) {
						if r != nil && r.Code/100 != 2 {
							b.Errorf("recipient %d: %d %s", i, r.Code, r.Message)
						}
					})
				}
				if got, want := requests.Load()-start, int64(b.N*rcpts); got != want {
					b.Fatalf("receiver got %d requests, want %d", got, want)
				}
			})
		}
	}
}
