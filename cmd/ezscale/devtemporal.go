package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/ezscale/billing/devenv"
)

// supervisedTemporal is dev mode's Temporal dev server, started again whenever it exits while
// the stack runs.
type supervisedTemporal struct {
	log  *slog.Logger
	opts devenv.TemporalOptions

	mu   sync.Mutex
	proc *devenv.Process
	done bool // stop was called: no more restarts
}

func startSupervisedTemporal(ctx context.Context, log *slog.Logger, o devenv.TemporalOptions) (*supervisedTemporal, error) {
	p, err := devenv.StartTemporal(ctx, log, o)
	if err != nil {
		return nil, err
	}
	return &supervisedTemporal{log: log, opts: o, proc: p}, nil
}

// supervise restarts the server each time it exits, until ctx ends. Restart attempts back off
// from 1 s to 30 s while the server cannot start (its port still held, for instance).
func (s *supervisedTemporal) supervise(ctx context.Context) {
	for {
		s.mu.Lock()
		p := s.proc
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-p.Done():
		}
		s.log.Warn("the Temporal dev server exited; starting it again", "pid", p.Pid(), "err", p.Wait())
		for delay := time.Second; ; delay = min(2*delay, 30*time.Second) {
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
			np, err := devenv.StartTemporal(ctx, s.log, s.opts)
			s.mu.Lock()
			if err == nil && s.done {
				s.mu.Unlock()
				_ = np.Stop(context.WithoutCancel(ctx))
				return
			}
			if err == nil {
				s.proc = np
			}
			s.mu.Unlock()
			if err == nil {
				s.log.Info("the Temporal dev server is back", "pid", np.Pid())
				break
			}
			s.log.Warn("start the Temporal dev server again", "err", err, "retry_in", min(2*delay, 30*time.Second))
		}
	}
}

// stop stops the current server and any restart still to come.
func (s *supervisedTemporal) stop(ctx context.Context) error {
	s.mu.Lock()
	s.done = true
	p := s.proc
	s.mu.Unlock()
	return p.Stop(ctx)
}
