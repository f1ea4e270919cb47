package devenv

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// postgresStartTimeout bounds how long a private cluster may take to accept connections
// (crash recovery after a killed run is included).
const postgresStartTimeout = 60 * time.Second

// postgresBinGlobs are where distributions put versioned server binaries: Debian/Ubuntu, then RHEL.
func postgresBinGlobs() []string {
	return []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin"}
}

// PostgresOptions configures EnsurePostgres.
type PostgresOptions struct {
	// URL is DATABASE_URL when set: used as-is after a ping.
	URL string
	// DataDir holds the private cluster; default var/pg.
	DataDir string
	// Database is created when missing; default ezscale.
	Database string
	// Port is the private cluster's port on 127.0.0.1; default 54329 (clear of a system 5432).
	Port int
	// LogFile receives the private cluster's output (appended); empty discards it.
	LogFile string
	// SkipLocal skips the probe of a server on 127.0.0.1:5432, for tests of the private cluster.
	SkipLocal bool

	binGlobs []string // overrides postgresBinGlobs in tests
}

func (o PostgresOptions) withDefaults() PostgresOptions {
	if o.DataDir == "" {
		o.DataDir = filepath.Join("var", "pg")
	}
	if o.Database == "" {
		o.Database = "ezscale"
	}
	if o.Port == 0 {
		o.Port = 54329
	}
	if o.binGlobs == nil {
		o.binGlobs = postgresBinGlobs()
	}
	return o
}

// EnsurePostgres returns a DSN for a reachable PostgreSQL server: o.URL when set; else a server
// on 127.0.0.1:5432 that lets postgres, root or $USER in without a password (o.Database is
// created there when missing); else a private cluster under o.DataDir started from the system's
// binaries. proc is nil unless a private cluster was started; its Stop shuts the cluster down.
func EnsurePostgres(ctx context.Context, log *slog.Logger, o PostgresOptions) (dsn string, proc *Process, err error) {
	log = orDiscard(log)
	o = o.withDefaults()

	if o.URL != "" {
		if err := ping(ctx, o.URL); err != nil {
			return "", nil, fmt.Errorf("DATABASE_URL (%s) does not answer: %w", redact(o.URL), err)
		}
		log.Info("using PostgreSQL from DATABASE_URL", "url", redact(o.URL))
		return o.URL, nil, nil
	}

	if !o.SkipLocal {
		if dsn, ok := useLocalServer(ctx, log, o.Database); ok {
			return dsn, nil, nil
		}
	}

	return startPrivateCluster(ctx, log, o)
}

// useLocalServer returns a DSN for database on 127.0.0.1:5432 when a server there lets one
// of the usual users in without a password and the database exists or can be created.
func useLocalServer(ctx context.Context, log *slog.Logger, database string) (string, bool) {
	const addr = "127.0.0.1:5432"
	d := net.Dialer{Timeout: time.Second}
	probe, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		log.Debug("no PostgreSQL on "+addr, "err", err)
		return "", false
	}
	probe.Close()

	var users []string
	for _, u := range []string{"postgres", "root", os.Getenv("USER"), currentUser()} {
		if u != "" && !slices.Contains(users, u) {
			users = append(users, u)
		}
	}
	for _, u := range users {
		admin := localDSN(u, 5432, "postgres")
		conn, err := connect(ctx, admin)
		if err != nil {
			log.Debug("local PostgreSQL refused user", "user", u, "err", err)
			continue
		}
		err = ensureDatabase(ctx, conn, database)
		conn.Close(context.WithoutCancel(ctx))
		if err != nil {
			log.Info("local PostgreSQL: cannot use database", "user", u, "database", database, "err", err)
			continue
		}
		dsn := localDSN(u, 5432, database)
		log.Info("using local PostgreSQL", "address", addr, "user", u, "database", database)
		return dsn, true
	}
	log.Info("PostgreSQL on "+addr+" answers but none of these users may connect without a password; starting a private cluster", "users", users)
	return "", false
}

// startPrivateCluster initialises o.DataDir once and runs postgres on it as our child.
func startPrivateCluster(ctx context.Context, log *slog.Logger, o PostgresOptions) (string, *Process, error) {
	start := time.Now()
	dataDir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return "", nil, fmt.Errorf("resolve PostgreSQL data directory %q: %w", o.DataDir, err)
	}
	bin, err := findPostgresBin(o.binGlobs, clusterVersion(dataDir))
	if err != nil {
		return "", nil, err
	}
	cred, err := postgresCredential()
	if err != nil {
		return "", nil, err
	}
	if err := portFree("127.0.0.1", o.Port, "private PostgreSQL"); err != nil {
		return "", nil, err
	}
	if err := os.MkdirAll(filepath.Dir(dataDir), 0o755); err != nil {
		return "", nil, fmt.Errorf("create parent of PostgreSQL data directory %s: %w", dataDir, err)
	}
	if cred != nil {
		if err := checkSearchable(filepath.Dir(dataDir), cred); err != nil {
			return "", nil, err
		}
	}

	if clusterVersion(dataDir) == "" {
		if err := initCluster(ctx, log, bin, dataDir, cred); err != nil {
			return "", nil, err
		}
	} else if cred != nil {
		if err := chownTree(dataDir, cred); err != nil {
			return "", nil, err
		}
	}

	awaitCrashedCluster(ctx, log, dataDir)

	// A unix socket path longer than ~107 bytes is refused; TCP is all we use, so drop the socket then.
	sockDir := dataDir
	if len(dataDir)+len("/.s.PGSQL.")+len(strconv.Itoa(o.Port))+len(".lock") >= 107 {
		log.Info("PostgreSQL data directory path too long for a unix socket; listening on TCP only", "dir", dataDir)
		sockDir = ""
	}
	p, err := startProcess(log, processSpec{
		name: "postgres",
		path: filepath.Join(bin, "postgres"),
		args: []string{
			"-D", dataDir,
			"-p", strconv.Itoa(o.Port),
			"-c", "listen_addresses=127.0.0.1",
			"-c", "unix_socket_directories=" + sockDir,
		},
		dir:        "/",
		logFile:    o.LogFile,
		cred:       cred,
		stopSignal: syscall.SIGINT, // fast shutdown: roll back open transactions, checkpoint, exit
	})
	if err != nil {
		return "", nil, err
	}

	admin := localDSN("postgres", o.Port, "postgres")
	conn, err := awaitPostgres(ctx, p, admin)
	if err == nil {
		err = ensureDatabase(ctx, conn, o.Database)
		conn.Close(context.WithoutCancel(ctx))
	}
	if err != nil {
		_ = p.Stop(context.WithoutCancel(ctx))
		return "", nil, fmt.Errorf("start private PostgreSQL in %s on port %d: %w\n%s", dataDir, o.Port, err, logTail(o.LogFile))
	}
	dsn := localDSN("postgres", o.Port, o.Database)
	log.Info("private PostgreSQL ready", "dsn", dsn, "data", dataDir, "pid", p.Pid(), "took", time.Since(start).Round(time.Millisecond))
	return dsn, p, nil
}

// initCluster runs initdb into a scratch directory and renames it into place, so an
// interrupted initdb never leaves a half-made cluster at dataDir.
func initCluster(ctx context.Context, log *slog.Logger, bin, dataDir string, cred *syscall.Credential) error {
	scratch := dataDir + ".initdb"
	if err := os.RemoveAll(scratch); err != nil {
		return fmt.Errorf("remove leftover %s: %w", scratch, err)
	}
	if entries, err := os.ReadDir(dataDir); err == nil && len(entries) > 0 {
		return fmt.Errorf("PostgreSQL data directory %s is not empty but holds no cluster (no PG_VERSION); move it away", dataDir)
	}
	if err := os.Mkdir(scratch, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", scratch, err)
	}
	if cred != nil {
		if err := os.Chown(scratch, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("hand %s to the postgres user: %w", scratch, err)
		}
	}

	log.Info("initialising private PostgreSQL cluster", "dir", dataDir, "bin", bin)
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"-D", scratch, "--auth=trust", "-U", "postgres", "--encoding=UTF8", "--no-locale")
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb %s: %w\n%s", scratch, err, out)
	}
	if err := os.Remove(dataDir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("replace empty %s: %w", dataDir, err)
	}
	if err := os.Rename(scratch, dataDir); err != nil {
		return fmt.Errorf("move initialised cluster into %s: %w", dataDir, err)
	}
	return nil
}

// awaitCrashedCluster waits (up to 10 s) for the children of a killed postmaster to finish
// exiting. Our postmaster leads its process group, so postmaster.pid names the group; while
// a member still holds the old shared memory a new postmaster refuses to start.
func awaitCrashedCluster(ctx context.Context, log *slog.Logger, dataDir string) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 || syscall.Kill(pid, 0) == nil { // a live postmaster speaks for itself
		return
	}
	if liveGroupMembers(pid) == 0 {
		return
	}
	log.Info("waiting for processes of a killed PostgreSQL to exit", "group", pid)
	deadline := time.Now().Add(10 * time.Second)
	for liveGroupMembers(pid) > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
}

// awaitPostgres connects as postgres until the server accepts connections, it exits or time runs out.
func awaitPostgres(ctx context.Context, p *Process, dsn string) (*pgx.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, postgresStartTimeout)
	defer cancel()
	for {
		conn, err := connect(ctx, dsn)
		if err == nil {
			return conn, nil
		}
		select {
		case <-p.Done():
			return nil, fmt.Errorf("postgres exited during start-up: %w", p.Wait())
		case <-ctx.Done():
			return nil, fmt.Errorf("not accepting connections after %s: %w (last error: %v)", postgresStartTimeout, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// findPostgresBin returns the directory holding initdb and postgres: the newest version found
// under globs (the one matching version when a cluster already exists), else the one on PATH.
func findPostgresBin(globs []string, version string) (string, error) {
	type candidate struct {
		dir     string
		version []int
	}
	var found []candidate
	for _, g := range globs {
		dirs, _ := filepath.Glob(g) // the only error is a malformed pattern
		for _, dir := range dirs {
			if !executable(filepath.Join(dir, "initdb")) || !executable(filepath.Join(dir, "postgres")) {
				continue
			}
			found = append(found, candidate{dir, versionOf(filepath.Base(filepath.Dir(dir)))}) // .../<version>/bin
		}
	}
	slices.SortFunc(found, func(a, b candidate) int { return slices.Compare(b.version, a.version) })
	if pg, err := exec.LookPath("postgres"); err == nil {
		dir := filepath.Dir(pg)
		if executable(filepath.Join(dir, "initdb")) {
			found = append(found, candidate{dir: dir})
		}
	}

	if len(found) == 0 {
		return "", errors.New("PostgreSQL not found: install it with `sudo apt-get install postgresql` (Debian package postgresql) or set DATABASE_URL")
	}
	if version == "" {
		return found[0].dir, nil
	}
	want := versionOf(version)
	for _, c := range found {
		if len(want) > 0 && (len(c.version) == 0 || c.version[0] == want[0]) { // unversioned PATH binaries: let postgres judge
			return c.dir, nil
		}
	}
	return "", fmt.Errorf("the private PostgreSQL cluster was initialised by PostgreSQL %s but no binaries of that version were found (have %s): install postgresql-%s or remove the data directory", version, found[0].dir, version)
}

// versionOf parses the version in a name like "15", "9.6" or "pgsql-16" (nil when there is none).
func versionOf(name string) []int {
	fields := strings.Split(name, "-")
	nums := []int{}
	for _, f := range strings.Split(fields[len(fields)-1], ".") {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil
		}
		nums = append(nums, n)
	}
	return nums
}

// clusterVersion returns the major version recorded in dataDir/PG_VERSION, or "" when there is no cluster.
func clusterVersion(dataDir string) string {
	b, err := os.ReadFile(filepath.Join(dataDir, "PG_VERSION"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// postgresCredential returns the postgres system user's credential when we run as root
// (initdb and postgres refuse root), and nil otherwise.
func postgresCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and PostgreSQL refuses to run as root: there is no `postgres` system user to run it as (%v); run as a normal user or set DATABASE_URL", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parse uid %q of user postgres: %w", u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parse gid %q of user postgres: %w", u.Gid, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

// checkSearchable fails with a clear message when the user in cred cannot reach dir,
// which happens when the repository sits under a 0700 home directory.
func checkSearchable(dir string, cred *syscall.Credential) error {
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("stat %s: %w", d, err)
		}
		sys, ok := st.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		perm := st.Mode().Perm()
		var bit fs.FileMode = 0o001
		switch {
		case sys.Uid == cred.Uid:
			bit = 0o100
		case sys.Gid == cred.Gid:
			bit = 0o010
		}
		if perm&bit == 0 {
			return fmt.Errorf("the postgres user cannot enter %s (mode %v), so it cannot reach the private cluster's data directory: run `chmod o+x %s`, move the repository, or set DATABASE_URL", d, perm, d)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// chownTree hands dataDir to the postgres user when it belongs to someone else
// (for example after a copy made by root).
func chownTree(dataDir string, cred *syscall.Credential) error {
	st, err := os.Stat(dataDir)
	if err != nil {
		return fmt.Errorf("stat %s: %w", dataDir, err)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Uid == cred.Uid {
		return nil
	}
	err = filepath.WalkDir(dataDir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(cred.Uid), int(cred.Gid))
	})
	if err != nil {
		return fmt.Errorf("hand %s to the postgres user: %w", dataDir, err)
	}
	return nil
}

// ensureDatabase creates database when it does not exist.
func ensureDatabase(ctx context.Context, conn *pgx.Conn, database string) error {
	var exists bool
	err := conn.QueryRow(ctx, "select exists (select 1 from pg_database where datname = $1)", database).Scan(&exists)
	if err != nil {
		return fmt.Errorf("look up database %s: %w", database, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "create database "+pgx.Identifier{database}.Sanitize())
	var pgErr *pgconn.PgError
	if err != nil && !(errors.As(err, &pgErr) && pgErr.Code == "42P04") { // duplicate_database: created meanwhile
		return fmt.Errorf("create database %s: %w", database, err)
	}
	return nil
}

// connect opens one connection with a short timeout.
func connect(ctx context.Context, dsn string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse DSN: %w", err)
	}
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > 3*time.Second {
		cfg.ConnectTimeout = 3 * time.Second
	}
	return pgx.ConnectConfig(ctx, cfg)
}

// ping connects to dsn and runs a round trip.
func ping(ctx context.Context, dsn string) error {
	conn, err := connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return conn.Ping(ctx)
}

// localDSN is a password-less TCP DSN on 127.0.0.1.
func localDSN(userName string, port int, database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(userName),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// redact hides the password of a URL-style DSN for logs and errors.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return "(unparsable DSN)"
	}
	return u.Redacted()
}

func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}

func executable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}
