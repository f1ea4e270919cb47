// Command ezscale is the EZSCALE billing platform: web server, Temporal worker, migrations,
// demo data and a one-command development stack.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `ezscale: billing and automation for hosting companies

Usage:
  ezscale dev                      run the whole stack locally with demo data
  ezscale serve                    run the web server
  ezscale worker                   run the Temporal worker
  ezscale migrate [up|down|status] manage the database schema (default up)
  ezscale seed                     create the demo accounts and catalog (idempotent)
  ezscale ops provisioning list|retry|abandon <service-id>
                                   find and fix failed provisioning
  ezscale version                  print the version
  ezscale help                     this text and the configuration variables

Configuration comes from environment variables; see README.md or "ezscale help".
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ezscale:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError string

func (e usageError) Error() string { return string(e) }

// run dispatches a command line. It returns when the command finishes or ctx is cancelled.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "dev":
		return runDev(ctx, getenv, stdout, stderr)
	case "serve":
		return runServe(ctx, getenv, stderr)
	case "worker":
		return runWorker(ctx, getenv, stderr)
	case "migrate":
		return runMigrate(ctx, rest, getenv, stdout, stderr)
	case "seed":
		return runSeed(ctx, getenv, stdout, stderr)
	case "ops":
		return runOps(ctx, rest, getenv, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "ezscale", version)
		return nil
	case "help", "--help", "-h":
		printHelp(stdout)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return usageError(fmt.Sprintf("unknown command %q", cmd))
	}
}
