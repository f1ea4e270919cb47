// Command ezscale is the EZSCALE billing platform: web server, Temporal worker, migrations,
// demo data and a one-command development stack.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ezscale/billing/seed"
)

const usage = `ezscale: billing and automation for hosting companies

Usage:
  ezscale dev                      run the whole stack locally with demo data
  ezscale serve                    run the web server
  ezscale worker                   run the Temporal worker
  ezscale migrate [up|down|status] manage the database schema (default up)
  ezscale seed                     create the demo accounts and catalog (idempotent)
  ezscale seed --demo [--scale N] [--seed V]
                                   also create a demo business: at scale 1, 300 customers,
                                   500 subscriptions, 800 invoices over the last 24 months
                                   (--scale 100: 30,000 / 50,000 / 80,000; fractions allowed;
                                   default 1). The same --seed (default 1) on the same day
                                   gives the same business. Refuses to run twice on a database.
  ezscale analytics backfill --from YYYY-MM-DD [--to YYYY-MM-DD]
                                   store the daily metric snapshots of past days
  ezscale ops provisioning list|retry|abandon <service-id>
                                   find and fix failed provisioning
  ezscale ops reconcile --from YYYY-MM-DD --to YYYY-MM-DD [--gateway NAME]
                                   compare each gateway's charges and refunds with the ledger
                                   and list every difference (exit status 1 when any)
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
	case "migrate", "seed", "analytics", "ops":
		// Beside a running `ezscale dev`, these reach its database and Temporal server.
		getenv = withDevState(getenv, stderr)
	}
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
		if len(rest) > 0 {
			return runSeedDemo(ctx, rest, getenv, stdout, stderr)
		}
		return runSeed(ctx, getenv, stdout, stderr)
	case "analytics":
		return runAnalytics(ctx, rest, getenv, stdout, stderr)
	case "ops":
		return runOps(ctx, rest, getenv, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, readBuildInfo())
		return nil
	case "help", "--help", "-h":
		printHelp(stdout)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return usageError(fmt.Sprintf("unknown command %q", cmd))
	}
}

// runSeedDemo is `ezscale seed --demo [--scale N] [--seed V]`: the demo accounts and catalog,
// then the demo business, with progress on stderr.
func runSeedDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	demo := fs.Bool("demo", false, "create the demo business")
	scale := fs.Float64("scale", 1, "size of the demo business: 1 is 300 customers, 500 subscriptions, 800 invoices")
	seedValue := fs.Uint64("seed", 1, "random seed: the same seed gives the same business")
	if err := fs.Parse(args); err != nil {
		return usageError(fmt.Sprintf("seed: %v", err))
	}
	if !*demo || fs.NArg() > 0 {
		fmt.Fprint(stderr, usage)
		return usageError("seed: --scale and --seed need --demo")
	}
	s, log, err := openCommandStore(ctx, getenv, stderr, "info", true)
	if err != nil {
		return err
	}
	defer s.Close()
	started := time.Now()
	n, err := seed.Business(ctx, log, s, seed.BusinessOptions{Scale: *scale, Seed: *seedValue, Progress: stderr})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo business ready in %s: %d customers, %d subscriptions, %d services, %d invoices, %d payments, %d refunds\n",
		time.Since(started).Round(100*time.Millisecond), n.Customers, n.Subscriptions, n.Services, n.Invoices, n.Payments, n.Refunds)
	if err := backfillDemo(ctx, s, stdout); err != nil {
		return err
	}
	for _, l := range seed.DemoLogins() {
		fmt.Fprintf(stdout, "  %-8s %s / %s\n", l.Role, l.Email, l.Password)
	}
	fmt.Fprintf(stdout, "  demo business customers: any *@demo.example address / %s\n", seed.DemoCustomerPassword)
	return nil
}
