package main

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/ezscale/billing/testenv"
)

// TestWorkerThatStopsForGoodIsReplaced: a worker the SDK stops on a fatal error (here its
// namespace does not exist, which the SDK refuses at start) is replaced by a new one, and the
// loop ends when its context does.
func TestWorkerThatStopsForGoodIsReplaced(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal dev server")
	}
	_, hostPort := testenv.TemporalServer(t)
	quiet := sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))
	dial := func(namespace string) client.Client {
		c, err := client.Dial(client.Options{HostPort: hostPort, Namespace: namespace, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	missing, good := dial("no-such-namespace"), dial(testenv.Namespace)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var made atomic.Int32
	second := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- keepWorkerRunning(ctx, slog.New(slog.DiscardHandler), 10*time.Millisecond, func() worker.Worker {
			if made.Add(1) == 1 {
				return worker.New(missing, "keep-worker-test", worker.Options{})
			}
			close(second)
			return worker.New(good, "keep-worker-test", worker.Options{})
		})
	}()
	select {
	case <-second:
	case err := <-done:
		t.Fatalf("keepWorkerRunning returned %v after the first worker stopped; want a new worker", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no second worker 30 s after the first stopped for good")
	}
	time.Sleep(500 * time.Millisecond) // the second worker polls
	select {
	case err := <-done:
		t.Fatalf("keepWorkerRunning returned %v while its worker ran", err)
	default:
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("keepWorkerRunning after cancel: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("keepWorkerRunning did not end with its context")
	}
	if n := made.Load(); n != 2 {
		t.Fatalf("workers made = %d; want 2", n)
	}
}
