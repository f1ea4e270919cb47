package httpapi_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ezscale/billing/gateways"
	"github.com/ezscale/billing/gateways/sandbox"
	"github.com/ezscale/billing/httpapi"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/store/storetest"
	"github.com/ezscale/billing/testenv"
)

// BenchmarkWebhookIngest measures POST /webhooks/sandbox over real HTTP on a real PostgreSQL:
// signed payment events, each paying its own invoice (verify, store once, record the payment,
// mark processed), with every tenth delivery a duplicate of an earlier one. It reports
// events/s and the p99 latency; the goal (issue 4: >= 1,000/s, p99 < 50 ms) is reported, not
// asserted.
func BenchmarkWebhookIngest(b *testing.B) {
	ctx := context.Background()
	s := storetest.New(b)
	sb := sandbox.New(sandbox.Options{Secret: []byte(testenv.SandboxSecret)})
	srv := httptest.NewServer(httpapi.New(httpapi.Deps{
		Log: slog.New(slog.DiscardHandler), Store: s, Gateways: gateways.Registry{sandbox.Name: sb},
	}))
	b.Cleanup(srv.Close)
	u, err := s.CreateUser(ctx, store.NewUser{Email: "bench@example.com", Name: "Bench", PasswordHash: "$argon2id$x", Role: store.RoleCustomer, Verified: true})
	if err != nil {
		b.Fatal(err)
	}

	// Every tenth delivery repeats the event five before it, so 10% are duplicates.
	duplicate := func(i int) bool { return i%10 == 9 }
	distinct := 0
	for i := range b.N {
		if !duplicate(i) {
			distinct++
		}
	}
	invoices := make([]store.Invoice, distinct)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < distinct; i += 8 {
				invoices[i] = webhookInvoice(b, s, u.ID, 1200, fmt.Sprintf("bench-%d", i))
			}
		})
	}
	wg.Wait()
	type delivery struct {
		body   []byte
		header http.Header
	}
	deliveries := make([]delivery, 0, b.N)
	for i := range b.N {
		if duplicate(i) {
			deliveries = append(deliveries, deliveries[i-5])
			continue
		}
		inv := invoices[i-i/10]
		body, header := sb.SignedEvent(gateways.Event{ID: fmt.Sprintf("evt_bench_%d", inv.ID), Type: sandbox.EventPaymentSucceeded,
			Created: time.Now(), InvoiceID: inv.ID, PaymentRef: fmt.Sprintf("ch_bench_%d", inv.ID), Amount: inv.Totals.Total})
		deliveries = append(deliveries, delivery{body, header})
	}

	url := srv.URL + "/webhooks/sandbox"
	http.DefaultTransport.(*http.Transport).MaxIdleConnsPerHost = 256
	var (
		next      atomic.Int64
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, b.N)
		failed    atomic.Int64
	)
	b.SetParallelism(4)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		mine := make([]time.Duration, 0, 1024)
		for pb.Next() {
			d := deliveries[next.Add(1)-1]
			t0 := time.Now()
			status, _, err := tryWebhookPost(url, d.body, d.header)
			mine = append(mine, time.Since(t0))
			if err != nil || status != http.StatusOK {
				failed.Add(1)
			}
		}
		mu.Lock()
		latencies = append(latencies, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d deliveries were not answered 200", n, b.N)
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(latencies[(len(latencies)*99)/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
}
