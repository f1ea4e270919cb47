package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/store/storetest"
)

func TestBackoffWaitDoublesUpToItsMaximum(t *testing.T) {
	b := store.Backoff{Tries: 3, Base: 30 * time.Second, Max: 5 * time.Minute}
	want := []time.Duration{0, 0, 0, 30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, 5 * time.Minute}
	for n, w := range want {
		if got := b.Wait(n); got != w {
			t.Errorf("Wait(%d) = %s; want %s", n, got, w)
		}
	}
	if got := (store.Backoff{}).Wait(100); got != 0 {
		t.Errorf("a counting-only backoff waits %s; want 0", got)
	}
}

func TestTakeTryWaitsAfterTheFreeTriesAndClears(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	b := store.Backoff{Tries: 3, Base: time.Minute, Max: time.Hour, Forget: time.Hour}
	for i := 1; i <= 3; i++ {
		if wait, err := s.TakeTry(ctx, "k", "a@example.com", b); err != nil || wait != 0 {
			t.Fatalf("try %d: wait %s err %v; want no wait", i, wait, err)
		}
	}
	wait, err := s.TakeTry(ctx, "k", "a@example.com", b)
	if err != nil || wait < 55*time.Second || wait > time.Minute {
		t.Fatalf("4th try: wait %s err %v; want about a minute", wait, err)
	}
	if n, _ := s.Tries(ctx, "k", time.Hour); n != 3 {
		t.Fatalf("tries = %d; want 3 (a try refused while waiting is not counted)", n)
	}
	// Another key of the same subject is untouched; clearing the key lets it try again.
	if wait, _ := s.TakeTry(ctx, "other", "a@example.com", b); wait != 0 {
		t.Fatalf("another key waits %s", wait)
	}
	if err := s.ClearThrottle(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if wait, _ := s.TakeTry(ctx, "k", "a@example.com", b); wait != 0 {
		t.Fatalf("after ClearThrottle: wait %s; want 0", wait)
	}
	// ClearThrottles forgets every key of the subject, and only of it.
	for range 3 {
		_, _ = s.TakeTry(ctx, "k", "a@example.com", b)
		_, _ = s.TakeTry(ctx, "b-key", "b@example.com", b)
	}
	if err := s.ClearThrottles(ctx, "a@example.com"); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Tries(ctx, "k", time.Hour); n != 0 {
		t.Fatalf("tries of a cleared subject's key = %d", n)
	}
	if n, _ := s.Tries(ctx, "b-key", time.Hour); n != 3 {
		t.Fatalf("another subject's key lost its tries: %d", n)
	}
}

func TestTakeTryLetsOnlyTheFreeTriesThroughInParallel(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	b := store.Backoff{Tries: 5, Base: time.Minute, Max: time.Hour, Forget: time.Hour}
	var mu sync.Mutex
	through := 0
	var wg sync.WaitGroup
	for range 30 {
		wg.Go(func() {
			wait, err := s.TakeTry(ctx, "k", "a@example.com", b)
			if err != nil {
				t.Error(err)
				return
			}
			if wait == 0 {
				mu.Lock()
				through++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if through != 5 {
		t.Fatalf("%d of 30 parallel tries went through; want exactly the 5 free ones", through)
	}
}

func TestTakeTryForgetsOldTries(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	b := store.Backoff{Tries: 2, Base: time.Millisecond, Max: time.Millisecond, Forget: 200 * time.Millisecond}
	for range 2 {
		_, _ = s.TakeTry(ctx, "k", "a@example.com", b)
	}
	time.Sleep(300 * time.Millisecond)
	if n, _ := s.Tries(ctx, "k", b.Forget); n != 0 {
		t.Fatalf("tries after Forget = %d; want 0", n)
	}
	_, _ = s.TakeTry(ctx, "k", "a@example.com", b)
	if n, _ := s.Tries(ctx, "k", b.Forget); n != 1 {
		t.Fatalf("a try after Forget counted as %d in a row; want 1", n)
	}
}
