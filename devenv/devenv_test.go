package devenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
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

	"github.com/jackc/pgx/v5"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/ezscale/billing/testenv/repo"
)

var ezscaleSearchAttributes = []string{"CustomerId", "ServiceId", "SubscriptionStatus", "Provider"}

func TestStartTemporalRegistersNamespaceAndSearchAttributesAndKeepsThemOnRestart(t *testing.T) {
	cli := repo.TemporalCLI(t)
	ports := freePorts(t, 2)
	dir := t.TempDir()
	o := TemporalOptions{
		CLIPath:          cli,
		DBFile:           filepath.Join(dir, "var", "temporal.db"),
		Port:             ports[0],
		UIPort:           ports[1],
		Namespace:        "ezscale",
		SearchAttributes: ezscaleSearchAttributes,
		LogFile:          filepath.Join(dir, "var", "log", "temporal.log"),
	}

	began := time.Now()
	p := startTemporal(t, o)
	firstStart := time.Since(began)
	c := dialTemporal(t, o)
	firstID := namespaceID(t, c, o.Namespace)
	requireKeywordAttributes(t, c, o.Namespace, ezscaleSearchAttributes)
	requireHTTP200(t, fmt.Sprintf("http://127.0.0.1:%d/", o.UIPort))

	_, err := StartTemporal(t.Context(), testLogger(t), o)
	if err == nil || !strings.Contains(err.Error(), strconv.Itoa(o.Port)) {
		t.Errorf("second StartTemporal on busy port %d: err = %v, want an error naming the port", o.Port, err)
	}

	c.Close()
	stopAndRequireGroupGone(t, p)
	if err := p.Stop(t.Context()); err != nil {
		t.Errorf("second Stop = %v, want nil (idempotent)", err)
	}
	if err := p.Wait(); err != nil {
		t.Errorf("Wait after Stop = %v, want nil for a requested stop", err)
	}

	began = time.Now()
	p = startTemporal(t, o)
	secondStart := time.Since(began)
	c = dialTemporal(t, o)
	if id := namespaceID(t, c, o.Namespace); id != firstID {
		t.Errorf("namespace %s has id %s after restart, was %s: the database file was not reused", o.Namespace, id, firstID)
	}
	requireKeywordAttributes(t, c, o.Namespace, ezscaleSearchAttributes)
	c.Close()
	stopAndRequireGroupGone(t, p)

	t.Logf("Temporal dev server ready: first start %v (new SQLite file), second start %v (same file)",
		firstStart.Round(time.Millisecond), secondStart.Round(time.Millisecond))
}

func TestStartTemporalAddsSearchAttributesMissingFromAnExistingDatabase(t *testing.T) {
	cli := repo.TemporalCLI(t)
	ports := freePorts(t, 1)
	dir := t.TempDir()
	o := TemporalOptions{
		CLIPath: cli, DBFile: filepath.Join(dir, "temporal.db"), Port: ports[0], UIPort: -1,
		Namespace: "ezscale", SearchAttributes: []string{"CustomerId"}, LogFile: filepath.Join(dir, "temporal.log"),
	}
	stopAndRequireGroupGone(t, startTemporal(t, o))

	o.SearchAttributes = ezscaleSearchAttributes // a later release added attributes
	p := startTemporal(t, o)
	c := dialTemporal(t, o)
	defer c.Close()
	requireKeywordAttributes(t, c, o.Namespace, ezscaleSearchAttributes)
	stopAndRequireGroupGone(t, p)
}

func TestEnsureTemporalCLIReturnsAnExistingBinaryWithoutBuilding(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "temporal")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", t.TempDir()) // no go: a build attempt would fail
	got, err := EnsureTemporalCLI(t.Context(), testLogger(t), dir)
	if err != nil || got != fake {
		t.Fatalf("EnsureTemporalCLI(%s) = %q, %v; want %q, nil", dir, got, err, fake)
	}
}

func TestEnsureTemporalCLISaysGoIsMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := EnsureTemporalCLI(t.Context(), testLogger(t), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "`go`") {
		t.Fatalf("EnsureTemporalCLI without go on PATH: err = %v, want one saying go is missing", err)
	}
}

func TestEnsurePostgresUsesTheLocalServerAndCreatesTheDatabase(t *testing.T) {
	if c, err := net.DialTimeout("tcp", "127.0.0.1:5432", time.Second); err != nil {
		repo.SkipUnlessCI(t, "no PostgreSQL on 127.0.0.1:5432")
	} else {
		c.Close()
	}
	name := fmt.Sprintf("devenv_test_%d_%d", os.Getpid(), time.Now().UnixNano())
	dsn, p, err := EnsurePostgres(t.Context(), testLogger(t), PostgresOptions{Database: name, DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("EnsurePostgres: %v", err)
	}
	if p != nil {
		t.Cleanup(func() { _ = p.Stop(context.Background()) })
		t.Fatalf("EnsurePostgres started a private cluster (pid %d) although 127.0.0.1:5432 answers", p.Pid())
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("returned DSN %q does not parse: %v", dsn, err)
	}
	t.Cleanup(func() {
		admin := localDSN(cfg.User, int(cfg.Port), "postgres")
		conn, err := pgx.Connect(context.Background(), admin)
		if err != nil {
			t.Errorf("connect to drop %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "drop database if exists "+pgx.Identifier{name}.Sanitize()+" with (force)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	if got := queryString(t, dsn, "select current_database()"); got != name {
		t.Errorf("DSN %s connects to database %q, want %q", dsn, got, name)
	}

	// A second call finds the database already there.
	again, _, err := EnsurePostgres(t.Context(), testLogger(t), PostgresOptions{Database: name, DataDir: t.TempDir()})
	if err != nil || again != dsn {
		t.Errorf("second EnsurePostgres = %q, %v; want %q, nil", again, err, dsn)
	}
}

func TestEnsurePostgresFailsWhenDatabaseURLDoesNotAnswerAndHidesThePassword(t *testing.T) {
	port := freePorts(t, 1)[0]
	url := fmt.Sprintf("postgres://app:s3cret@127.0.0.1:%d/ezscale?sslmode=disable", port)
	_, p, err := EnsurePostgres(t.Context(), testLogger(t), PostgresOptions{URL: url, DataDir: t.TempDir()})
	if err == nil || p != nil {
		t.Fatalf("EnsurePostgres with dead DATABASE_URL = proc %v, err %v; want an error and no process", p, err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error leaks the password: %v", err)
	}
}

func TestEnsurePostgresPrivateClusterKeepsDataAcrossRestartsAndCrashes(t *testing.T) {
	if _, err := findPostgresBin(postgresBinGlobs(), ""); err != nil {
		repo.SkipUnlessCI(t, err.Error())
	}
	dir := searchableTempDir(t)
	o := PostgresOptions{
		DataDir:   filepath.Join(dir, "var", "pg"),
		Database:  "ezscale",
		Port:      freePorts(t, 1)[0],
		LogFile:   filepath.Join(dir, "var", "log", "postgres.log"),
		SkipLocal: true,
	}

	began := time.Now()
	dsn, p := ensurePrivatePostgres(t, o)
	firstStart := time.Since(began)
	if got := queryString(t, dsn, "select 1::text"); got != "1" {
		t.Fatalf("select 1 on %s = %q", dsn, got)
	}
	exec1(t, dsn, "create table kept (v text); insert into kept values ('hello')")
	if _, err := os.Stat(filepath.Join(o.DataDir, fmt.Sprintf(".s.PGSQL.%d", o.Port))); err != nil {
		t.Errorf("no unix socket in the data directory: %v", err)
	}
	stopAndRequireGroupGone(t, p)
	requireNoProcessMentions(t, o.DataDir)

	began = time.Now()
	dsn2, p := ensurePrivatePostgres(t, o)
	secondStart := time.Since(began)
	if dsn2 != dsn {
		t.Errorf("DSN changed across restarts: %s then %s", dsn, dsn2)
	}
	if got := queryString(t, dsn, "select v from kept"); got != "hello" {
		t.Errorf("row written before the restart reads %q, want hello", got)
	}

	// Crash: kill the whole group without letting postgres clean up.
	if err := syscall.Kill(-p.Pid(), syscall.SIGKILL); err != nil {
		t.Fatalf("kill postgres group %d: %v", p.Pid(), err)
	}
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Done not closed 10 s after postgres was killed")
	}
	if p.Wait() == nil {
		t.Error("Wait after an unrequested kill = nil, want the exit error")
	}
	if _, err := os.Stat(filepath.Join(o.DataDir, "postmaster.pid")); err != nil {
		t.Fatalf("expected a stale postmaster.pid after the kill: %v", err)
	}
	if err := p.Stop(t.Context()); err != nil {
		t.Errorf("Stop after the child died = %v, want nil", err)
	}

	began = time.Now()
	_, p = ensurePrivatePostgres(t, o)
	afterCrash := time.Since(began)
	if got := queryString(t, dsn, "select v from kept"); got != "hello" {
		t.Errorf("row written before the crash reads %q, want hello", got)
	}
	stopAndRequireGroupGone(t, p)
	requireNoProcessMentions(t, o.DataDir)

	t.Logf("private PostgreSQL ready: first start %v (initdb + start), second start %v, after a SIGKILL crash %v",
		firstStart.Round(time.Millisecond), secondStart.Round(time.Millisecond), afterCrash.Round(time.Millisecond))
}

func TestEnsurePostgresSaysWhatToInstallWhenThereAreNoBinaries(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, _, err := EnsurePostgres(t.Context(), testLogger(t), PostgresOptions{
		DataDir: filepath.Join(t.TempDir(), "pg"), SkipLocal: true, binGlobs: []string{filepath.Join(t.TempDir(), "*", "bin")},
	})
	want := "PostgreSQL not found: install it with `sudo apt-get install postgresql` (Debian package postgresql) or set DATABASE_URL"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("EnsurePostgres without binaries: err = %v, want %q", err, want)
	}
}

func TestFindPostgresBinPicksTheNewestOrTheClusterVersion(t *testing.T) {
	root := t.TempDir()
	for _, v := range []string{"9.6", "14", "16"} {
		bin := filepath.Join(root, v, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"initdb", "postgres"} {
			if err := os.WriteFile(filepath.Join(bin, name), nil, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Setenv("PATH", t.TempDir())
	globs := []string{filepath.Join(root, "*", "bin")}
	for _, tc := range []struct {
		cluster, want string
	}{
		{"", "16"},
		{"14", "14"},
		{"9.6", "9.6"},
		{"13", ""},
	} {
		got, err := findPostgresBin(globs, tc.cluster)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("cluster version %s: got %s, want an error (no such binaries)", tc.cluster, got)
		case tc.want != "" && got != filepath.Join(root, tc.want, "bin"):
			t.Errorf("cluster version %q: got %q, %v; want version %s", tc.cluster, got, err, tc.want)
		}
	}
}

func TestStopKillsChildrenTheLeaderLeftBehind(t *testing.T) {
	p := startTestProcess(t, processSpec{name: "sh", path: "/bin/sh", args: []string{"-c", "sleep 300 & sleep 300 & wait"}})
	waitForGroupSize(t, p.Pid(), 3)
	stopAndRequireNoLiveMember(t, p)
}

func TestStopKillsAChildThatIgnoresTheStopSignal(t *testing.T) {
	p := startTestProcess(t, processSpec{name: "sh", path: "/bin/sh", args: []string{"-c", `trap "" TERM; sleep 300`}, signalGroup: true})
	p.grace = 200 * time.Millisecond
	waitForGroupSize(t, p.Pid(), 2)
	began := time.Now()
	stopAndRequireNoLiveMember(t, p)
	if took := time.Since(began); took > 3*time.Second {
		t.Errorf("Stop took %v with a 200 ms grace period", took)
	}
}

func TestDoneAndWaitReportAnUnexpectedExit(t *testing.T) {
	p := startTestProcess(t, processSpec{name: "sh", path: "/bin/sh", args: []string{"-c", "exit 3"}})
	select {
	case <-p.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed after the child exited")
	}
	if err := p.Wait(); err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("Wait = %v, want an error with exit status 3", err)
	}
	if err := p.Stop(t.Context()); err != nil {
		t.Errorf("Stop after the child died = %v, want nil", err)
	}
}

func TestNilProcessIsSafe(t *testing.T) {
	var p *Process
	if err := p.Stop(t.Context()); err != nil || p.Pid() != 0 || p.Done() != nil || p.Wait() != nil {
		t.Error("a nil *Process must do nothing")
	}
}

// TestChildDiesWithItsParent runs this test binary as a parent that starts `sleep`, kills the
// parent with SIGKILL, and expects the kernel to kill the child too (Pdeathsig).
func TestChildDiesWithItsParent(t *testing.T) {
	if os.Getenv("DEVENV_PDEATHSIG_PARENT") == "1" {
		p, err := startProcess(slog.New(slog.DiscardHandler), processSpec{name: "sleep", path: "/bin/sleep", args: []string{"300"}})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println(p.Pid())
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildDiesWithItsParent$")
	cmd.Env = append(os.Environ(), "DEVENV_PDEATHSIG_PARENT=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("read child pid from helper: %v", err)
	}
	child, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("helper printed %q, want a pid", line)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(child, 0) == nil {
		if time.Now().After(deadline) {
			_ = syscall.Kill(child, syscall.SIGKILL)
			t.Fatalf("child %d still alive 5 s after its parent was killed", child)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// --- helpers ---

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// freePorts returns n distinct ports that were free a moment ago on 127.0.0.1.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// searchableTempDir is a temporary directory the postgres user can reach when we run as root,
// with a path short enough for a unix socket inside it.
func searchableTempDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "devenv")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func startTemporal(t *testing.T, o TemporalOptions) *Process {
	t.Helper()
	p, err := StartTemporal(t.Context(), testLogger(t), o)
	if err != nil {
		t.Fatalf("StartTemporal: %v", err)
	}
	t.Cleanup(func() { _ = p.Stop(context.Background()) })
	return p
}

func ensurePrivatePostgres(t *testing.T, o PostgresOptions) (string, *Process) {
	t.Helper()
	dsn, p, err := EnsurePostgres(t.Context(), testLogger(t), o)
	if err != nil {
		t.Fatalf("EnsurePostgres: %v", err)
	}
	if p == nil {
		t.Fatal("EnsurePostgres with SkipLocal returned no process: no private cluster started")
	}
	t.Cleanup(func() { _ = p.Stop(context.Background()) })
	return dsn, p
}

func startTestProcess(t *testing.T, spec processSpec) *Process {
	t.Helper()
	p, err := startProcess(testLogger(t), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop(context.Background()) })
	return p
}

func dialTemporal(t *testing.T, o TemporalOptions) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: fmt.Sprintf("127.0.0.1:%d", o.Port), Namespace: o.Namespace})
	if err != nil {
		t.Fatalf("dial Temporal on port %d: %v", o.Port, err)
	}
	return c
}

func namespaceID(t *testing.T, c client.Client, ns string) string {
	t.Helper()
	resp, err := c.WorkflowService().DescribeNamespace(t.Context(), &workflowservice.DescribeNamespaceRequest{Namespace: ns})
	if err != nil {
		t.Fatalf("describe namespace %s: %v", ns, err)
	}
	return resp.GetNamespaceInfo().GetId()
}

func requireKeywordAttributes(t *testing.T, c client.Client, ns string, names []string) {
	t.Helper()
	resp, err := c.OperatorService().ListSearchAttributes(t.Context(), &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil {
		t.Fatalf("list search attributes of %s: %v", ns, err)
	}
	for _, name := range names {
		if typ, ok := resp.GetCustomAttributes()[name]; !ok || typ != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
			t.Errorf("search attribute %s in %s: registered=%v type=%v, want Keyword (all custom: %v)", name, ns, ok, typ, resp.GetCustomAttributes())
		}
	}
}

func requireHTTP200(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = errors.New(resp.Status)
		}
		if time.Now().After(deadline) {
			t.Errorf("GET %s: %v, want 200 OK", url, err)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stopAndRequireGroupGone stops p and fails when any process of its group survives.
func stopAndRequireGroupGone(t *testing.T, p *Process) {
	t.Helper()
	pgid := p.Pid()
	if err := p.Stop(t.Context()); err != nil {
		t.Fatalf("Stop %s (pid %d): %v", p.name, pgid, err)
	}
	if err := syscall.Kill(-pgid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("after Stop, kill(-%d, 0) = %v, want ESRCH: processes of the group survive", pgid, err)
	}
}

// stopAndRequireNoLiveMember stops p and fails when a process of its group is still running.
// Orphans that died are zombies until init reaps them, which this machine's init never does,
// so kill(-pgid, 0) cannot be the check here.
func stopAndRequireNoLiveMember(t *testing.T, p *Process) {
	t.Helper()
	if err := p.Stop(t.Context()); err != nil {
		t.Fatalf("Stop %s (pid %d): %v", p.name, p.Pid(), err)
	}
	if n := liveGroupMembers(p.Pid()); n > 0 {
		t.Errorf("after Stop, %d processes of group %d are still running", n, p.Pid())
	}
}

// waitForGroupSize waits until the group has n processes, so Stop is tested on a running tree.
func waitForGroupSize(t *testing.T, pgid, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := 0
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			if _, err := strconv.Atoi(e.Name()); err != nil {
				continue
			}
			if g, err := syscall.Getpgid(mustAtoi(e.Name())); err == nil && g == pgid {
				got++
			}
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %d has %d processes after 5 s, want %d", pgid, got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// requireNoProcessMentions fails when a live process has s in its command line.
func requireNoProcessMentions(t *testing.T, s string) {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmdline), s) {
			t.Errorf("process %s survives: %s", e.Name(), strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
}

func mustAtoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func queryString(t *testing.T, dsn, sql string) string {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", dsn, err)
	}
	defer conn.Close(context.Background())
	var s string
	if err := conn.QueryRow(t.Context(), sql).Scan(&s); err != nil {
		t.Fatalf("%s on %s: %v", sql, dsn, err)
	}
	return s
}

func exec1(t *testing.T, dsn, sql string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", dsn, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), sql); err != nil {
		t.Fatalf("%s on %s: %v", sql, dsn, err)
	}
}
