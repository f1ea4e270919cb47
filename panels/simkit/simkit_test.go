package simkit

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestFaultsAreInjectedInOrderThenStop(t *testing.T) {
	var created atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			created.Add(1)
		}
		io.WriteString(w, "ok")
	})
	var f Faults
	shape := func(w http.ResponseWriter, k Fault, ra time.Duration) {
		status := map[Fault]int{FaultServerError: 503, FaultRateLimit: 429, FaultLocked: 423, FaultNoCapacity: 400}[k]
		if k == FaultRateLimit {
			SetRetryAfter(w, ra)
		}
		w.WriteHeader(status)
	}
	isPost := func(r *http.Request) bool { return r.Method == http.MethodPost }
	srv := httptest.NewServer(f.Wrap(h, shape, isPost, isPost))
	defer srv.Close()

	f.FailNext(1)
	f.RateLimitNext(1, 7*time.Second)
	f.LockNext(1)
	f.LoseNextCreates(1)
	get := func() *http.Response {
		res, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	post := func() (*http.Response, error) { return http.Post(srv.URL, "application/json", nil) }

	if r := get(); r.StatusCode != 503 {
		t.Fatalf("first: %d, want 503", r.StatusCode)
	}
	if r := get(); r.StatusCode != 429 || r.Header.Get("Retry-After") != "7" {
		t.Fatalf("second: %d Retry-After %q, want 429 and 7", r.StatusCode, r.Header.Get("Retry-After"))
	}
	if r := get(); r.StatusCode != 200 {
		t.Fatalf("a GET is not locked: %d", r.StatusCode)
	}
	if r, err := post(); err != nil || r.StatusCode != 423 {
		t.Fatalf("locked post: %v %v", r, err)
	}
	if _, err := post(); err == nil {
		t.Fatal("lost create answered")
	}
	if created.Load() != 1 {
		t.Fatalf("lost create performed %d times, want 1", created.Load())
	}
	f.SetNoCapacity(true)
	if r, err := post(); err != nil || r.StatusCode != 400 {
		t.Fatalf("no capacity: %v %v", r, err)
	}
	f.SetNoCapacity(false)
	if r, err := post(); err != nil || r.StatusCode != 200 || created.Load() != 2 {
		t.Fatalf("after faults: %v %v created %d", r, err, created.Load())
	}
	if f.Injected(FaultLoseCreate) != 1 || f.Injected(FaultServerError) != 1 {
		t.Fatal("injected counters wrong")
	}
}
