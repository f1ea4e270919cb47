package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ezscale/billing/auth"
	"github.com/ezscale/billing/httpapi"
	"github.com/ezscale/billing/seed"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
	"github.com/ezscale/billing/web"
)

// BenchmarkDashboard measures GET /admin as an administrator through the real server on real
// PostgreSQL, over the demo business (seed.Business, written through the store) at
// EZSCALE_BENCH_SCALE (default 10: 3,000 customers, 5,000 subscriptions, 8,000 invoices; 100 is
// the 100x set), beside GET /static/css/app.css on the same server as the reference. It reports
// the p50 and p95 latency of each: "admin-uncached" computes every figure on every request,
// "admin-cached" is the production setting (figures reused for a minute).
func BenchmarkDashboard(b *testing.B) {
	scale := 10.0
	if v := os.Getenv("EZSCALE_BENCH_SCALE"); v != "" {
		var err error
		if scale, err = strconv.ParseFloat(v, 64); err != nil {
			b.Fatalf("EZSCALE_BENCH_SCALE=%q: %v", v, err)
		}
	}
	st := testenv.NewStack(b, testenv.Options{NoWorker: true})
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := seed.Demo(ctx, log, st.Store); err != nil {
		b.Fatal(err)
	}
	started := time.Now()
	n, err := seed.Business(ctx, log, st.Store, seed.BusinessOptions{Scale: scale, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("demo business at scale %g in %s: %+v", scale, time.Since(started).Round(time.Second), n)
	email := "bench-admin@example.com"
	if _, err := st.Store.UserByEmail(ctx, email); err != nil {
		benchUser(b, st, email, store.RoleAdmin)
	}
	client := newBenchClient(b, st, email)

	// The same site with the dashboard's one-minute figure cache off: every request computes.
	pages, err := web.NewRenderer()
	if err != nil {
		b.Fatal(err)
	}
	settings := st.Settings
	settings.DashboardCacheTTL = -1
	uncached := httptest.NewServer(httpapi.New(httpapi.Deps{Log: log, Store: st.Store, Workflows: st.Temporal, Mail: st.Mail,
		Pages: pages, Settings: settings, Gateways: st.Gateways, Pricer: st.Pricer}))
	b.Cleanup(uncached.Close)
	// And with a one-second cache: figures are recomputed in the background about every second
	// while requests keep being served from the cache.
	settings.DashboardCacheTTL = time.Second
	refreshing := httptest.NewServer(httpapi.New(httpapi.Deps{Log: log, Store: st.Store, Workflows: st.Temporal, Mail: st.Mail,
		Pages: pages, Settings: settings, Gateways: st.Gateways, Pricer: st.Pricer}))
	b.Cleanup(refreshing.Close)

	for _, c := range []struct{ name, base, path string }{
		{"admin-uncached", uncached.URL, "/admin"},
		{"admin-cached", st.Server.URL, "/admin"},
		{"admin-refreshing-1s", refreshing.URL, "/admin"},
		{"static", st.Server.URL, "/static/css/app.css"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for range 3 { // warm the caches and the connection pool
				client.get(b, c.base+c.path)
			}
			var lat []time.Duration
			for b.Loop() {
				t0 := time.Now()
				client.get(b, c.base+c.path)
				lat = append(lat, time.Since(t0))
			}
			reportLatencies(b, lat)
		})
	}
}

type benchClient struct {
	st *testenv.Stack
	c  *http.Client
}

// newBenchClient signs in as email with a cookie jar, as the login form does.
func newBenchClient(b *testing.B, st *testenv.Stack, email string) *benchClient {
	jar, _ := cookiejar.New(nil)
	c := &benchClient{st: st, c: &http.Client{Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	res, err := c.c.Get(st.URL("/login"))
	if err != nil {
		b.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfField.FindStringSubmatch(string(page))
	if m == nil {
		b.Fatal("no csrf field on /login")
	}
	res, err = c.c.PostForm(st.URL("/login"), url.Values{"csrf": {m[1]}, "email": {email}, "password": {"password 12345"}})
	if err != nil {
		b.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		b.Fatalf("login as %s: status %d", email, res.StatusCode)
	}
	return c
}

func (c *benchClient) get(b *testing.B, url string) {
	res, err := c.c.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %d", url, res.StatusCode)
	}
}

func benchUser(b *testing.B, st *testenv.Stack, email, role string) {
	b.Helper()
	h, err := auth.HashPassword("password 12345", auth.Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.Store.CreateUser(context.Background(), store.NewUser{Email: email, Name: "Bench " + role, PasswordHash: h, Role: role, Verified: true}); err != nil {
		b.Fatal(err)
	}
}
