package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.temporal.io/sdk/worker"
	"golang.org/x/sync/errgroup"

	"github.com/ezscale/billing/config"
	"github.com/ezscale/billing/devenv"
	"github.com/ezscale/billing/devenv/simstore"
	"github.com/ezscale/billing/mail"
	"github.com/ezscale/billing/mail/sink"
	"github.com/ezscale/billing/panels/devpanels"
	"github.com/ezscale/billing/seed"
	"github.com/ezscale/billing/workflows"
)

// runDev brings up the whole platform on one machine: PostgreSQL (found or started), the
// Temporal dev server (started as a child), migrations, demo data, a mail sink, the web server
// and the worker in this process. Ctrl-C stops everything it started.
func runDev(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	started := time.Now()
	cfg, err := config.Load(getenv, "development")
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	logDir := filepath.Join(cfg.DataDir, "log")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", logDir, err)
	}

	// Children are stopped in reverse order of start, whatever happens below.
	var children []*devenv.Process
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for i := len(children) - 1; i >= 0; i-- {
			if serr := children[i].Stop(stopCtx); serr != nil {
				log.Error("stop child process", "pid", children[i].Pid(), "err", serr)
			}
		}
	}()

	dsn, pg, err := devenv.EnsurePostgres(ctx, log, devenv.PostgresOptions{
		URL: cfg.DatabaseURL, DataDir: filepath.Join(cfg.DataDir, "pg"), Database: "ezscale",
		LogFile: filepath.Join(logDir, "postgres.log"),
	})
	if err != nil {
		return err
	}
	if pg != nil {
		children = append(children, pg)
	}
	cfg.DatabaseURL = dsn

	var temporalServer *supervisedTemporal
	if cfg.TemporalAddress == "" {
		cli, err := devenv.EnsureTemporalCLI(ctx, log, cfg.BinDir)
		if err != nil {
			return err
		}
		temporalServer, err = startSupervisedTemporal(ctx, log, devenv.TemporalOptions{
			CLIPath: cli, DBFile: filepath.Join(cfg.DataDir, "temporal.db"),
			Port: cfg.DevTemporalPort, UIPort: cfg.DevTemporalUIPort,
			Namespace: cfg.TemporalNamespace, SearchAttributes: workflows.SearchAttributeNames(),
			LogFile: filepath.Join(logDir, "temporal.log"),
		})
		if err != nil {
			return err
		}
		defer func() {
			stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if serr := temporalServer.stop(stopCtx); serr != nil {
				log.Error("stop the Temporal dev server", "err", serr)
			}
		}()
		cfg.TemporalAddress = "127.0.0.1:" + strconv.Itoa(cfg.DevTemporalPort)
		cfg.TemporalUIURL = "http://localhost:" + strconv.Itoa(cfg.DevTemporalUIPort)
	}

	var mailSink *sink.Sink
	if cfg.SMTPURL == "" {
		mailSink, err = sink.Start(log, "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer mailSink.Close()
		cfg.SMTPURL = mailSink.URL()
	}
	mailer, err := mail.NewSMTP(cfg.SMTPURL, cfg.MailFrom)
	if err != nil {
		return err
	}

	s, err := openStore(ctx, log, cfg.DatabaseURL, true)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := seed.Demo(ctx, log, s); err != nil {
		return err
	}
	// The demo business (two years of customers, subscriptions and invoices, before the panel
	// simulators are registered, so it has no services) gives the dashboard something to show.
	switch _, err := seed.Business(ctx, log, s, seed.BusinessOptions{Scale: 1, Seed: 1}); {
	case errors.Is(err, seed.ErrBusinessExists):
	case err != nil:
		return err
	default:
		if err := backfillDemo(ctx, s, io.Discard); err != nil {
			return err
		}
	}

	prov, err := newProvisioning(cfg, s, mailer)
	if err != nil {
		return err
	}
	// The simulators and the sandbox keep their fake world in the dev database (schema devsim),
	// so a restart continues where the last run stopped.
	simState, err := simstore.Open(ctx, cfg.DatabaseURL, simstore.DefaultSchema)
	if err != nil {
		return err
	}
	defer simState.Close()
	sims, err := devpanels.Start(ctx, devpanels.Options{State: simState, Log: log.With("component", "simulators")})
	if err != nil {
		return err
	}
	defer sims.Close()
	if err := sims.Register(ctx, s, prov.Secrets); err != nil {
		return fmt.Errorf("register the panel simulators: %w", err)
	}

	tc, err := dialTemporal(ctx, log, cfg)
	if err != nil {
		return err
	}
	defer tc.Close()
	pay, err := newPayments(ctx, log, cfg, true, simState) // one process: the worker charges the sandbox it hosts
	if err != nil {
		return err
	}
	defer pay.close()
	if err := ensureAnalyticsSchedule(ctx, tc, cfg.TaskQueue); err != nil {
		return err
	}
	if err := ensureReconcileSchedule(ctx, tc, cfg.TaskQueue); err != nil {
		return err
	}

	h, err := newHTTP(log, cfg, s, tc, mailer, mailSink, prov, pay)
	if err != nil {
		return err
	}
	ln, err := listen(cfg.HTTPAddr)
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	if err := devenv.WriteState(cfg.DataDir, devenv.State{
		DatabaseURL: cfg.DatabaseURL, TemporalAddress: cfg.TemporalAddress, TemporalNamespace: cfg.TemporalNamespace,
		TemporalUIURL: cfg.TemporalUIURL, SiteURL: "http://localhost:" + port, PID: os.Getpid(), StartedAt: started.UTC(),
	}); err != nil {
		return err
	}
	defer func() {
		if rerr := devenv.RemoveState(cfg.DataDir, os.Getpid()); rerr != nil {
			log.Warn("remove the dev state file", "err", rerr)
		}
	}()
	printBanner(stdout, cfg, ln.Addr().String(), mailSink, sims, time.Since(started))

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return serveHTTP(gctx, log, ln, h) })
	if temporalServer != nil {
		// A Temporal server that dies is started again on its port with its state: the web
		// server and the worker keep running and reconnect, and in-flight workflows carry on.
		g.Go(func() error { temporalServer.supervise(gctx); return nil })
	}
	g.Go(func() error {
		return keepWorkerRunning(gctx, log, workerRestartDelay, func() worker.Worker { return newWorker(cfg, tc, s, mailer, prov, pay) })
	})
	for _, c := range children {
		g.Go(func() error {
			select {
			case <-c.Done():
				return fmt.Errorf("child process %d exited unexpectedly (see %s)", c.Pid(), logDir)
			case <-gctx.Done():
				return nil
			}
		})
	}
	err = g.Wait()
	log.Info("dev stack stopping")
	return err
}

func printBanner(w io.Writer, cfg config.Config, addr string, mailSink *sink.Sink, sims *devpanels.Set, took time.Duration) {
	_, port, _ := net.SplitHostPort(addr)
	site := "http://localhost:" + port
	fmt.Fprintf(w, "\nEZSCALE dev stack is up (%s)\n\n", took.Round(100*time.Millisecond))
	fmt.Fprintf(w, "  Website      %s/\n", site)
	fmt.Fprintf(w, "  Portal       %s/account\n", site)
	fmt.Fprintf(w, "  Admin        %s/admin\n", site)
	if mailSink != nil {
		fmt.Fprintf(w, "  Mail         %s/dev/mail   (SMTP sink on %s)\n", site, mailSink.Addr())
	}
	fmt.Fprintf(w, "  Temporal UI  %s/namespaces/%s/workflows\n", cfg.TemporalUIURL, cfg.TemporalNamespace)
	fmt.Fprintf(w, "  Health       %s/readyz   Metrics %s/metrics\n", site, site)
	for _, p := range sims.Panels {
		fmt.Fprintf(w, "  Simulator    %-12s %s\n", p.Config.Type, p.Config.BaseURL)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "  Demo logins:")
	for _, l := range seed.DemoLogins() {
		fmt.Fprintf(w, "    %-8s  %s  /  %s\n", l.Role, l.Email, l.Password)
	}
	fmt.Fprintf(w, "\n  State in %s/ (logs in %s/log). Press Ctrl-C to stop.\n", cfg.DataDir, cfg.DataDir)
	fmt.Fprintf(w, "  ezscale ops, migrate, seed and analytics run beside this stack use %s\n\n", devenv.StatePath(cfg.DataDir))
}
