package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ezscale/billing/devenv"
	"github.com/ezscale/billing/store/storetest"
	"github.com/ezscale/billing/testenv/repo"
)

// buildBinary compiles ezscale once for the smoke tests.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ezscale")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// descendants lists the pids whose ancestry leads to pid, read from /proc.
func descendants(pid int) []int {
	parent := map[int]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The command name may hold spaces; fields after the last ')' are fixed.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 1 {
			parent[p], _ = strconv.Atoi(f[1])
		}
	}
	var out []int
	for p := range parent {
		for q := parent[p]; q > 1; q = parent[q] {
			if q == pid {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

type devRun struct {
	cmd    *exec.Cmd
	stdout *bytes.Buffer
	stderr *bytes.Buffer
	done   chan error
}

func startDev(t *testing.T, bin string, env []string) *devRun {
	t.Helper()
	r := &devRun{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	r.cmd = exec.Command(bin, "dev")
	r.cmd.Env = env
	r.cmd.Stdout, r.cmd.Stderr = r.stdout, r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() {
		if r.cmd.ProcessState == nil {
			_ = r.cmd.Process.Kill()
		}
	})
	return r
}

func (r *devRun) waitReady(t *testing.T, url string, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < limit {
		select {
		case err := <-r.done:
			t.Fatalf("ezscale dev exited early: %v\nstdout:\n%s\nstderr:\n%s", err, r.stdout, tail(r.stderr.String(), 4000))
		default:
		}
		res, err := http.Get(url + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return time.Since(start)
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("not ready after %s\nstdout:\n%s\nstderr:\n%s", limit, r.stdout, tail(r.stderr.String(), 4000))
	return 0
}

// interrupt sends Ctrl-C's signal and waits for a clean exit.
func (r *devRun) interrupt(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("ezscale dev exited with %v after Ctrl-C\n%s", err, tail(r.stderr.String(), 4000))
		}
	case <-time.After(60 * time.Second):
		t.Fatal("ezscale dev still running 60 s after Ctrl-C")
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func TestDevStartsReadyStopsCleanlyAndRestartsFromVar(t *testing.T) {
	cli := repo.TemporalCLI(t)
	_, dsn := storetest.NewWithURL(t)
	bin := buildBinary(t)
	work := t.TempDir()
	httpPort := freePort(t)
	site := "http://127.0.0.1:" + strconv.Itoa(httpPort)
	temporalPort := strconv.Itoa(freePort(t))
	env := append(os.Environ(),
		"DATABASE_URL="+dsn,
		"DATA_DIR="+filepath.Join(work, "var"),
		"BIN_DIR="+filepath.Dir(cli),
		"HTTP_ADDR=127.0.0.1:"+strconv.Itoa(httpPort),
		"BASE_URL="+site,
		"TEMPORAL_DEV_PORT="+temporalPort,
		"TEMPORAL_UI_PORT="+strconv.Itoa(freePort(t)),
		"LOG_LEVEL=warn",
	)
	env = withoutVar(env, "TEMPORAL_ADDRESS", "SMTP_URL", "APP_ENV")

	first := startDev(t, bin, env)
	took := first.waitReady(t, site, 3*time.Minute)
	t.Logf("first start ready in %s", took)
	for _, want := range []string{"Demo logins", "admin@demo.ezscale.test", "/dev/mail", "Temporal UI"} {
		if !strings.Contains(first.stdout.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, first.stdout)
		}
	}
	for _, p := range []string{"/", "/login", "/dev/mail"} {
		res, err := http.Get(site + p)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %v %v", p, res, err)
		}
		res.Body.Close()
	}
	// The other commands find this stack through its state file.
	state, err := devenv.ReadState(filepath.Join(work, "var"))
	if err != nil {
		t.Fatalf("dev state file: %v", err)
	}
	if fi, err := os.Stat(devenv.StatePath(filepath.Join(work, "var"))); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("dev state file mode: %v %v, want 0600", fi.Mode(), err)
	}
	if state.DatabaseURL != dsn || state.TemporalAddress != "127.0.0.1:"+temporalPort || state.TemporalNamespace != "ezscale" || state.PID != first.cmd.Process.Pid {
		t.Errorf("dev state file %+v; want database %s, Temporal 127.0.0.1:%s, namespace ezscale, pid %d", state, dsn, temporalPort, first.cmd.Process.Pid)
	}
	kids := descendants(first.cmd.Process.Pid)
	if len(kids) == 0 {
		t.Fatal("ezscale dev runs no child process: the Temporal dev server should be one")
	}
	first.interrupt(t)
	deadline := time.Now().Add(10 * time.Second)
	for _, k := range kids {
		for alive(k) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if alive(k) {
			t.Errorf("child process %d survived Ctrl-C", k)
			_ = syscall.Kill(k, syscall.SIGKILL)
		}
	}
	if _, err := os.Stat(devenv.StatePath(filepath.Join(work, "var"))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dev state file after Ctrl-C: %v; want it removed", err)
	}
	if _, err := os.Stat(filepath.Join(work, "var", "temporal.db")); err != nil {
		t.Fatalf("Temporal state file not kept under var/: %v", err)
	}

	second := startDev(t, bin, env)
	took = second.waitReady(t, site, time.Minute)
	t.Logf("second start (reusing var/) ready in %s", took)
	second.interrupt(t)
}

func TestInvalidDatabaseURLExitsNonZeroAndSaysSo(t *testing.T) {
	bin := buildBinary(t)
	for _, cmdName := range []string{"serve", "migrate"} {
		cmd := exec.Command(bin, cmdName)
		cmd.Env = append(withoutVar(os.Environ(), "DATABASE_URL"), "DATABASE_URL=mysql://root@localhost/billing", "APP_KEY=0123456789abcdef0123456789abcdef", "SMTP_URL=smtp://127.0.0.1:25")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() == 0 {
			t.Fatalf("ezscale %s with a bad DATABASE_URL: err %v; want a non-zero exit", cmdName, err)
		}
		if !strings.Contains(stderr.String(), "DATABASE_URL") {
			t.Fatalf("ezscale %s: stderr %q does not name DATABASE_URL", cmdName, stderr.String())
		}
	}
}

func TestMigrateStatusAndSeedCommands(t *testing.T) {
	_, dsn := storetest.NewWithURL(t)
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		if k == "DATABASE_URL" {
			return dsn
		}
		return ""
	}
	ctx := context.Background()
	if err := run(ctx, []string{"seed"}, getenv, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "customer@demo.ezscale.test") {
		t.Fatalf("seed output: %s", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"migrate", "status"}, getenv, &out, &errb); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&out)
	applied := 0
	for sc.Scan() {
		if strings.Contains(sc.Text(), "applied") {
			applied++
		}
	}
	if applied < 2 {
		t.Fatalf("migrate status shows %d applied migrations:\n%s", applied, out.String())
	}
	if err := run(ctx, []string{"migrate", "sideways"}, getenv, &out, &errb); err == nil {
		t.Fatal("migrate sideways accepted")
	}
	if err := run(ctx, []string{"frobnicate"}, getenv, &out, &errb); err == nil {
		t.Fatal("unknown command accepted")
	}
	out.Reset()
	if err := run(ctx, []string{"version"}, getenv, &out, &errb); err != nil || !strings.HasPrefix(out.String(), "ezscale ") {
		t.Fatalf("version: %q %v", out.String(), err)
	}
}

func withoutVar(env []string, names ...string) []string {
	out := env[:0:0]
	for _, kv := range env {
		keep := true
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				keep = false
			}
		}
		if keep {
			out = append(out, kv)
		}
	}
	return out
}
