package httpapi_test

import (
	"github.com/stripe/stripe-go/v79/webhook"

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
	"github.com/ezscale/billing/gateways/stripe"
	"github.com/ezscale/billing/httpapi"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/store/storetest"
)

// BenchmarkWebhookIngest measures POST /webhooks/stripe over real HTTP on a real PostgreSQL:
// Stripe payment_intent.succeeded events signed as Stripe signs them, each paying its own
// invoice (verify the signature, store once, record the payment, mark processed), with every
// tenth delivery a duplicate of an earlier one. It reports
// events/s and the p99 latency; the goal (issue 4: >= 1,000/s, p99 < 50 ms) is reported, not
// asserted.
func BenchmarkWebhookIngest(b *testing.B) {
	ctx := context.Background()
	s := storetest.New(b)
	const secret = "whsec_bench"
	sg, err := stripe.New(stripe.Config{SecretKey: "sk_test_bench", WebhookSecret: secret})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(httpapi.Deps{
		Log: slog.New(slog.DiscardHandler), Store: s, Gateways: gateways.Registry{"stripe": sg},
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
		body := fmt.Appendf(nil, `{"id":"evt_bench_%d","object":"event","type":"payment_intent.succeeded","created":%d,"api_version":"2024-06-20",
			"data":{"object":{"id":"pi_bench_%d","object":"payment_intent","amount":%d,"currency":"usd","customer":"cus_bench","metadata":{"invoice_id":"%d"}}}}`,
			inv.ID, time.Now().Unix(), inv.ID, inv.Totals.Total.Amount, inv.ID)
		header := http.Header{}
		header.Set(stripe.SignatureHeader, webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: secret, Timestamp: time.Now()}).Header)
		deliveries = append(deliveries, delivery{body, header})
	}

	url := srv.URL + "/webhooks/stripe"
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
			status, text, err := tryWebhookPost(url, d.body, d.header)
			mine = append(mine, time.Since(t0))
			if err != nil || status != http.StatusOK {
				if failed.Add(1) == 1 {
					b.Logf("first failed delivery: %d %q %v", status, text, err)
				}
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
