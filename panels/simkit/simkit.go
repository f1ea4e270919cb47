// Package simkit is what the panel simulators share: fault injection (latency, 5xx bursts, 429
// with Retry-After, 423 locked, no capacity, a create whose response is lost) and small helpers.
// Each simulator answers faults in its own panel's error shape through the Shaper it provides.
package simkit

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Fault is one kind of injected failure.
type Fault int

// Injectable faults.
const (
	FaultServerError Fault = iota // 500/502/503 burst
	FaultRateLimit                // 429 with Retry-After
	FaultLocked                   // 423 (or the panel's "busy" answer)
	FaultNoCapacity               // the panel's "no node / no inventory" answer on create
	FaultLoseCreate               // perform a create, then lose the response
)

// Shaper writes a panel's own error answer for a fault (envelope, status, message).
type Shaper func(w http.ResponseWriter, f Fault, retryAfter time.Duration)

// Faults holds the failures to inject next. The zero value injects nothing. Safe for concurrent use.
type Faults struct {
	mu          sync.Mutex
	latency     time.Duration
	serverErr   int
	rateLimit   int
	retryAfter  time.Duration
	locked      int
	noCapacity  bool
	loseCreates int
	loseDelay   time.Duration
	injected    map[Fault]int
}

// SetLatency delays every request by d.
func (f *Faults) SetLatency(d time.Duration) { f.mu.Lock(); f.latency = d; f.mu.Unlock() }

// FailNext makes the next n requests fail with a 5xx.
func (f *Faults) FailNext(n int) { f.mu.Lock(); f.serverErr += n; f.mu.Unlock() }

// RateLimitNext answers the next n requests with 429 and Retry-After.
func (f *Faults) RateLimitNext(n int, retryAfter time.Duration) {
	f.mu.Lock()
	f.rateLimit += n
	f.retryAfter = retryAfter
	f.mu.Unlock()
}

// LockNext answers the next n state-changing requests as locked (busy).
func (f *Faults) LockNext(n int) { f.mu.Lock(); f.locked += n; f.mu.Unlock() }

// SetNoCapacity makes creates and capacity checks report that nothing can be placed.
func (f *Faults) SetNoCapacity(on bool) { f.mu.Lock(); f.noCapacity = on; f.mu.Unlock() }

// NoCapacity reports whether no-capacity is switched on.
func (f *Faults) NoCapacity() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.noCapacity }

// LoseNextCreates makes the next n creates succeed on the panel while the caller gets no answer
// (the connection is closed after the work is done), as when a network drops mid-request.
func (f *Faults) LoseNextCreates(n int) { f.mu.Lock(); f.loseCreates += n; f.mu.Unlock() }

// SetLostResponseDelay keeps the connection of a lost create open for d after the create is done,
// so a test can kill the caller while it waits for an answer that will never come.
func (f *Faults) SetLostResponseDelay(d time.Duration) { f.mu.Lock(); f.loseDelay = d; f.mu.Unlock() }

// Injected reports how many faults of a kind were injected so far.
func (f *Faults) Injected(k Fault) int { f.mu.Lock(); defer f.mu.Unlock(); return f.injected[k] }

func (f *Faults) take(counter *int, k Fault) bool {
	if *counter <= 0 {
		return false
	}
	*counter--
	if f.injected == nil {
		f.injected = map[Fault]int{}
	}
	f.injected[k]++
	return true
}

// Wrap applies the faults in front of h. isCreate tells which requests create a service (for
// no-capacity and lost responses); isWrite tells which change state (for locked answers).
func (f *Faults) Wrap(h http.Handler, shape Shaper, isCreate, isWrite func(*http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		latency := f.latency
		var fault Fault = -1
		switch {
		case f.take(&f.serverErr, FaultServerError):
			fault = FaultServerError
		case f.take(&f.rateLimit, FaultRateLimit):
			fault = FaultRateLimit
		case isWrite(r) && f.take(&f.locked, FaultLocked):
			fault = FaultLocked
		case isCreate(r) && f.noCapacity:
			fault = FaultNoCapacity
		case isCreate(r) && f.take(&f.loseCreates, FaultLoseCreate):
			fault = FaultLoseCreate
		}
		retryAfter, loseDelay := f.retryAfter, f.loseDelay
		f.mu.Unlock()

		if latency > 0 {
			select {
			case <-time.After(latency):
			case <-r.Context().Done():
				return
			}
		}
		switch fault {
		case -1:
			h.ServeHTTP(w, r)
		case FaultLoseCreate:
			h.ServeHTTP(discard{header: http.Header{}}, r)
			select {
			case <-time.After(loseDelay):
			case <-r.Context().Done():
			}
			LoseResponse(w)
		default:
			shape(w, fault, retryAfter)
		}
	})
}

// LoseResponse closes the connection without an answer (or, if that is impossible, answers 502).
func LoseResponse(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	w.WriteHeader(http.StatusBadGateway)
}

// discard is a ResponseWriter that throws the answer away.
type discard struct{ header http.Header }

func (d discard) Header() http.Header         { return d.header }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}

// JSON writes v as a JSON answer with the status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// SetRetryAfter sets the Retry-After header in whole seconds (at least 1).
func SetRetryAfter(w http.ResponseWriter, d time.Duration) {
	secs := int(d.Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
}

// Clock is the simulators' time source, so tests can step async builds without sleeping.
type Clock func() time.Time
