// Package devenv starts the local services `ezscale dev` needs: the Temporal CLI dev server
// and a PostgreSQL server, as child processes that die with us. Linux only.
package devenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// defaultStopGrace is how long Stop waits after the polite signal before it kills the group.
const defaultStopGrace = 10 * time.Second

// Process is a child process started in its own process group with Pdeathsig SIGKILL, so it
// dies with us even when we crash. A nil *Process is valid: Stop does nothing and Done never closes.
type Process struct {
	name        string
	cmd         *exec.Cmd
	log         *slog.Logger
	stopSignal  syscall.Signal
	signalGroup bool          // send stopSignal to the whole group, not just the leader
	grace       time.Duration // wait after stopSignal before SIGKILL

	done     chan struct{}
	exitErr  error // valid once done is closed
	stopping atomic.Bool

	stopMu  sync.Mutex
	stopped bool
	stopErr error
}

// processSpec describes a child to start.
type processSpec struct {
	name        string
	path        string
	args        []string
	dir         string
	env         []string
	logFile     string              // stdout and stderr appended here; discarded when empty
	cred        *syscall.Credential // run as another user (postgres refuses root)
	stopSignal  syscall.Signal      // polite stop: SIGTERM for most, SIGINT for postgres (fast shutdown)
	signalGroup bool                // deliver stopSignal to the whole group
}

// startProcess starts spec as a process group leader that gets SIGKILL when we die.
func startProcess(log *slog.Logger, spec processSpec) (*Process, error) {
	var out *os.File
	if spec.logFile != "" {
		if err := os.MkdirAll(filepath.Dir(spec.logFile), 0o755); err != nil {
			return nil, fmt.Errorf("create log directory for %s: %w", spec.name, err)
		}
		f, err := os.OpenFile(spec.logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("open log file for %s: %w", spec.name, err)
		}
		out = f
		// The child holds its own copy of the descriptor; ours is not needed after Start.
		defer f.Close()
	}

	cmd := exec.Command(spec.path, spec.args...)
	cmd.Dir = spec.dir
	cmd.Env = spec.env
	if out != nil {
		cmd.Stdout, cmd.Stderr = out, out
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:    true,
		Pdeathsig:  syscall.SIGKILL,
		Credential: spec.cred,
	}

	// Linux delivers Pdeathsig when the *thread* that forked the child exits. Go only ends a
	// thread when a goroutine locked to it returns, so fork from a fresh, unlocked goroutine.
	startErr := make(chan error, 1)
	go func() { startErr <- cmd.Start() }()
	if err := <-startErr; err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", spec.name, spec.path, err)
	}

	p := &Process{
		name:        spec.name,
		cmd:         cmd,
		log:         log,
		stopSignal:  spec.stopSignal,
		signalGroup: spec.signalGroup,
		grace:       defaultStopGrace,
		done:        make(chan struct{}),
	}
	if p.stopSignal == 0 {
		p.stopSignal = syscall.SIGTERM
	}
	go p.reap()
	return p, nil
}

// reap waits for the leader to exit and reports an exit nobody asked for.
func (p *Process) reap() {
	err := p.cmd.Wait()
	if !p.stopping.Load() {
		p.log.Warn("child process exited unexpectedly", "name", p.name, "pid", p.cmd.Process.Pid, "err", err)
	}
	p.exitErr = err
	close(p.done)
}

// Pid returns the child's process id, which is also its process group id (0 for a nil Process).
func (p *Process) Pid() int {
	if p == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Done is closed when the child has exited, whether stopped by Stop or not.
// A nil Process returns a nil channel, which never becomes ready.
func (p *Process) Done() <-chan struct{} {
	if p == nil {
		return nil
	}
	return p.done
}

// Wait blocks until the child exits. It returns nil when the exit was caused by Stop and
// otherwise how the child ended, so a caller can tell a crash from a requested stop.
func (p *Process) Wait() error {
	if p == nil {
		return nil
	}
	<-p.done
	if p.stopping.Load() {
		return nil
	}
	if p.exitErr == nil {
		return fmt.Errorf("%s (pid %d) exited", p.name, p.Pid())
	}
	return fmt.Errorf("%s (pid %d) exited: %w", p.name, p.Pid(), p.exitErr)
}

// Stop asks the child to shut down, waits up to 10 s (or until ctx is done), then kills the
// whole process group. It is idempotent and safe to call after the child died by itself.
func (p *Process) Stop(ctx context.Context) error {
	if p == nil {
		return nil
	}
	p.stopMu.Lock()
	defer p.stopMu.Unlock()
	if p.stopped {
		return p.stopErr
	}
	p.stopped = true
	p.stopErr = p.stop(ctx)
	return p.stopErr
}

func (p *Process) stop(ctx context.Context) error {
	p.stopping.Store(true)
	pid := p.Pid()
	start := time.Now()

	select {
	case <-p.done:
	default:
		target := pid
		if p.signalGroup {
			target = -pid
		}
		if err := syscall.Kill(target, p.stopSignal); err != nil && !errors.Is(err, syscall.ESRCH) {
			p.log.Warn("signal child", "name", p.name, "pid", pid, "signal", p.stopSignal, "err", err)
		}
		timer := time.NewTimer(p.grace)
		defer timer.Stop()
		select {
		case <-p.done:
		case <-timer.C:
			p.log.Warn("child did not stop in time; killing its process group", "name", p.name, "pid", pid, "waited", p.grace)
		case <-ctx.Done():
			p.log.Warn("stop cancelled; killing child's process group", "name", p.name, "pid", pid, "err", ctx.Err())
		}
	}

	// Kill whatever is left in the group: the leader if it ignored us, or children it left behind.
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill process group %d of %s: %w", pid, p.name, err)
	}
	deadline := time.After(5 * time.Second)
	select {
	case <-p.done:
	case <-deadline:
		return fmt.Errorf("%s (pid %d) still running 5 s after SIGKILL", p.name, pid)
	}
	// Orphans of the leader die asynchronously; wait until none is alive. Zombies count as
	// gone: a container whose init never reaps would otherwise keep them forever.
	for liveGroupMembers(pid) > 0 {
		select {
		case <-deadline:
			return fmt.Errorf("processes of group %d (%s) still alive 5 s after SIGKILL", pid, p.name)
		case <-time.After(10 * time.Millisecond):
		}
	}
	p.log.Info("stopped", "name", p.name, "pid", pid, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// liveGroupMembers counts the processes in group pgid that are not zombies.
func liveGroupMembers(pgid int) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	live := 0
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		// "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 3 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		if g, err := strconv.Atoi(f[2]); err == nil && g == pgid {
			live++
		}
	}
	return live
}

// orDiscard returns log, or a logger that drops everything when log is nil.
func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}

// logTail returns the last few lines of a child's log file for an error message.
func logTail(path string) string {
	if path == "" {
		return "(no log file configured)"
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	defer f.Close()
	const max = 2048
	if st, err := f.Stat(); err == nil && st.Size() > max {
		if _, err := f.Seek(st.Size()-max, io.SeekStart); err != nil {
			return fmt.Sprintf("(cannot read %s: %v)", path, err)
		}
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	return fmt.Sprintf("last output in %s:\n%s", path, b)
}
