package devenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"google.golang.org/protobuf/types/known/durationpb"
)

// TemporalCLIVersion is the Temporal CLI `go install`ed for development (later tags have
// replace directives and cannot be go-installed; see docs/temporal.md).
const TemporalCLIVersion = "v1.5.1"

// temporalCLIPackage is the main package of the Temporal CLI.
const temporalCLIPackage = "github.com/temporalio/cli/cmd/temporal"

// temporalStartTimeout bounds how long StartTemporal waits for the frontend to answer.
const temporalStartTimeout = 60 * time.Second

// EnsureTemporalCLI returns the path of binDir/temporal, building it with `go install` when it
// is missing. The first build takes about 4 minutes; go's output goes to log (or stderr when
// log is nil).
func EnsureTemporalCLI(ctx context.Context, log *slog.Logger, binDir string) (string, error) {
	abs, err := filepath.Abs(binDir)
	if err != nil {
		return "", fmt.Errorf("resolve Temporal CLI directory %q: %w", binDir, err)
	}
	path := filepath.Join(abs, "temporal")
	if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
		return path, nil
	}

	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the Temporal CLI is not at %s and the Go toolchain (`go`) is not on PATH to build it: install Go, or put a temporal %s binary there: %w", path, TemporalCLIVersion, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", fmt.Errorf("create %s for the Temporal CLI: %w", abs, err)
	}

	pkg := temporalCLIPackage + "@" + TemporalCLIVersion
	if log != nil {
		log.Info("building the Temporal CLI; this takes about 4 minutes the first time", "package", pkg, "into", abs)
	} else {
		fmt.Fprintf(os.Stderr, "building the Temporal CLI (%s) into %s; this takes about 4 minutes the first time\n", pkg, abs)
	}
	start := time.Now()

	cmd := exec.CommandContext(ctx, goBin, "install", pkg)
	cmd.Env = append(os.Environ(), "GOBIN="+abs)
	var streamDone chan struct{}
	if log != nil {
		pr, pw := io.Pipe()
		cmd.Stdout, cmd.Stderr = pw, pw
		streamDone = make(chan struct{})
		go func() {
			defer close(streamDone)
			sc := bufio.NewScanner(pr)
			for sc.Scan() {
				log.Info("go install", "output", sc.Text())
			}
			_, _ = io.Copy(io.Discard, pr) // an over-long line must not block go
		}()
		defer func() { pw.Close(); <-streamDone }()
	} else {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build Temporal CLI with `GOBIN=%s go install %s`: %w", abs, pkg, err)
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("go install %s finished but %s is missing: %w", pkg, path, err)
	}
	orDiscard(log).Info("built the Temporal CLI", "path", path, "took", time.Since(start).Round(time.Second))
	return path, nil
}

// TemporalOptions configures the Temporal CLI dev server started by StartTemporal.
type TemporalOptions struct {
	// CLIPath is the temporal binary, usually from EnsureTemporalCLI.
	CLIPath string
	// DBFile is the SQLite file that keeps state across restarts (its directory is created);
	// empty means in-memory state, lost on exit.
	DBFile string
	// IP is the address the frontend and UI bind to; default 127.0.0.1.
	IP string
	// Port is the frontend gRPC port; default 7233.
	Port int
	// UIPort is the Web UI port; default 8233, negative for no UI.
	UIPort int
	// Namespace is created at start when missing, e.g. "ezscale"; "default" always exists.
	Namespace string
	// SearchAttributes are Keyword search attributes registered in Namespace when missing.
	SearchAttributes []string
	// LogFile receives the server's stdout and stderr (appended); empty discards them.
	LogFile string
}

func (o TemporalOptions) withDefaults() TemporalOptions {
	if o.IP == "" {
		o.IP = "127.0.0.1"
	}
	if o.Port == 0 {
		o.Port = 7233
	}
	if o.UIPort == 0 {
		o.UIPort = 8233
	}
	return o
}

// StartTemporal starts `temporal server start-dev` as a child process and returns once the
// frontend answers a health check and the namespace and search attributes exist. ctx bounds
// the start-up only; the server runs until Stop. It fails fast when a port is already taken.
func StartTemporal(ctx context.Context, log *slog.Logger, o TemporalOptions) (*Process, error) {
	log = orDiscard(log)
	o = o.withDefaults()
	if o.CLIPath == "" {
		return nil, errors.New("start Temporal dev server: no CLI path (see EnsureTemporalCLI)")
	}
	if err := portFree(o.IP, o.Port, "Temporal frontend"); err != nil {
		return nil, err
	}
	if o.UIPort > 0 {
		if err := portFree(o.IP, o.UIPort, "Temporal UI"); err != nil {
			return nil, err
		}
	}

	args := []string{"server", "start-dev",
		"--ip", o.IP,
		"--port", strconv.Itoa(o.Port),
		// No call home from a developer's machine (same flag the SDK's dev server helper passes).
		"--dynamic-config-value", "frontend.enableServerVersionCheck=false",
	}
	if o.UIPort > 0 {
		args = append(args, "--ui-port", strconv.Itoa(o.UIPort))
	} else {
		args = append(args, "--headless")
	}
	if o.DBFile != "" {
		db, err := filepath.Abs(o.DBFile)
		if err != nil {
			return nil, fmt.Errorf("resolve Temporal database file %q: %w", o.DBFile, err)
		}
		if err := os.MkdirAll(filepath.Dir(db), 0o755); err != nil {
			return nil, fmt.Errorf("create directory for Temporal database %s: %w", db, err)
		}
		args = append(args, "--db-filename", db)
	}
	if o.Namespace != "" {
		args = append(args, "--namespace", o.Namespace)
	}
	for _, name := range o.SearchAttributes {
		args = append(args, "--search-attribute", name+"=Keyword")
	}

	start := time.Now()
	p, err := startProcess(log, processSpec{
		name:        "temporal",
		path:        o.CLIPath,
		args:        args,
		logFile:     o.LogFile,
		stopSignal:  syscall.SIGTERM,
		signalGroup: true,
	})
	if err != nil {
		return nil, err
	}

	addr := net.JoinHostPort(dialHost(o.IP), strconv.Itoa(o.Port))
	if err := awaitTemporal(ctx, p, addr, o); err != nil {
		_ = p.Stop(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("start Temporal dev server on %s: %w\n%s", addr, err, logTail(o.LogFile))
	}
	attrs := []any{"address", addr, "namespace", o.Namespace, "pid", p.Pid(), "took", time.Since(start).Round(time.Millisecond)}
	if o.UIPort > 0 {
		attrs = append(attrs, "ui", "http://"+net.JoinHostPort(dialHost(o.IP), strconv.Itoa(o.UIPort)))
	}
	log.Info("Temporal dev server ready", attrs...)
	return p, nil
}

// awaitTemporal polls the frontend until it is healthy, then makes sure the namespace and
// search attributes exist (a database file from an older run may lack newer attributes).
func awaitTemporal(ctx context.Context, p *Process, addr string, o TemporalOptions) error {
	ctx, cancel := context.WithTimeout(ctx, temporalStartTimeout)
	defer cancel()
	quiet := sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))

	var lastErr error
	for {
		c, err := dialHealthy(ctx, addr, quiet)
		if err == nil {
			defer c.Close()
			if err := ensureNamespace(ctx, c, o.Namespace); err != nil {
				return err
			}
			return ensureSearchAttributes(ctx, c, o.Namespace, o.SearchAttributes)
		}
		lastErr = err
		select {
		case <-p.Done():
			return fmt.Errorf("server exited during start-up: %w", p.Wait())
		case <-ctx.Done():
			return fmt.Errorf("not healthy after %s: %w (last error: %v)", temporalStartTimeout, ctx.Err(), lastErr)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// dialHealthy connects to the frontend and runs its health check once.
func dialHealthy(ctx context.Context, addr string, logger sdklog.Logger) (client.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{HostPort: addr, Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		c.Close()
		return nil, fmt.Errorf("health check: %w", err)
	}
	return c, nil
}

// ensureNamespace registers namespace when the server does not know it.
func ensureNamespace(ctx context.Context, c client.Client, namespace string) error {
	if namespace == "" {
		return nil
	}
	_, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	var notFound *serviceerror.NamespaceNotFound
	switch {
	case err == nil:
		return nil
	case !errors.As(err, &notFound):
		return fmt.Errorf("describe namespace %s: %w", namespace, err)
	}
	_, err = c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace:                        namespace,
		WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("register namespace %s: %w", namespace, err)
	}
	return nil
}

// ensureSearchAttributes adds the Keyword search attributes namespace lacks and fails when
// one exists with another type.
func ensureSearchAttributes(ctx context.Context, c client.Client, namespace string, names []string) error {
	if namespace == "" || len(names) == 0 {
		return nil
	}
	list, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes of %s: %w", namespace, err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for _, name := range names {
		typ, ok := list.GetCustomAttributes()[name]
		switch {
		case !ok:
			missing[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
		case typ != enumspb.INDEXED_VALUE_TYPE_KEYWORD:
			return fmt.Errorf("search attribute %s in namespace %s has type %s, want Keyword", name, namespace, typ)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        namespace,
		SearchAttributes: missing,
	})
	if err != nil {
		return fmt.Errorf("add search attributes %v to %s: %w", keys(missing), namespace, err)
	}
	return nil
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// portFree reports an error naming the port when something already listens on ip:port.
func portFree(ip string, port int, what string) error {
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s port %d is already in use on %s (is another instance running?): %w", what, port, ip, err)
	}
	if err := ln.Close(); err != nil {
		return fmt.Errorf("release probe listener on %s: %w", addr, err)
	}
	return nil
}

// dialHost is the address to connect to for a server bound to ip.
func dialHost(ip string) string {
	if parsed := net.ParseIP(ip); parsed != nil && parsed.IsUnspecified() {
		return "127.0.0.1"
	}
	return ip
}
