package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/config"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/workflows"
)

const opsUsage = `Usage:
  ezscale ops provisioning list [status]     services by status (default needs_attention)
  ezscale ops provisioning retry <service-id>    retry the failed step of a service that needs attention
  ezscale ops provisioning abandon <service-id> [note]  remove partial resources and close the service
  ezscale ops reconcile --from YYYY-MM-DD --to YYYY-MM-DD [--gateway NAME]  compare the gateways with the ledger
`

// runOps is the operators' command line. It needs DATABASE_URL and TEMPORAL_ADDRESS.
func runOps(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "reconcile" {
		return runReconcile(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) < 2 || args[0] != "provisioning" {
		fmt.Fprint(stderr, opsUsage)
		return usageError("ops: unknown command")
	}
	s, log, err := openCommandStore(ctx, getenv, stderr, "warn", false)
	if err != nil {
		return err
	}
	defer s.Close()
	switch args[1] {
	case "list":
		status := billing.ServiceNeedsAttention
		if len(args) > 2 {
			status = billing.ServiceStatus(args[2])
		}
		return listServices(ctx, s, status, stdout)
	case "retry", "abandon":
		if len(args) < 3 {
			fmt.Fprint(stderr, opsUsage)
			return usageError("ops provisioning " + args[1] + ": which service?")
		}
		id, err := strconv.ParseInt(args[2], 10, 64)
		if err != nil || id <= 0 {
			return usageError(fmt.Sprintf("service id %q is not a number", args[2]))
		}
		cfg := config.Config{TemporalAddress: getenv("TEMPORAL_ADDRESS"), TemporalNamespace: getenv("TEMPORAL_NAMESPACE")}
		if cfg.TemporalAddress == "" {
			cfg.TemporalAddress = "127.0.0.1:7233"
		}
		if cfg.TemporalNamespace == "" {
			cfg.TemporalNamespace = "ezscale"
		}
		tc, err := dialTemporal(ctx, log, cfg)
		if err != nil {
			return err
		}
		defer tc.Close()
		r := workflows.Resolution{Action: workflows.ResolveRetry, Actor: "ops:cli"}
		if args[1] == "abandon" {
			r.Action = workflows.ResolveAbandon
			if len(args) > 3 {
				r.Note = args[3]
			}
		}
		uctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		h, err := tc.UpdateWorkflow(uctx, client.UpdateWorkflowOptions{
			WorkflowID: workflows.ProvisionID(id), UpdateName: workflows.UpdateProvisionResolve,
			Args: []any{r}, WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			err = h.Get(uctx, nil) // a validator's refusal arrives here
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", args[1], workflows.ProvisionID(id), err)
		}
		fmt.Fprintf(stdout, "%s accepted for service %d; follow it with: ezscale ops provisioning list %s\n", args[1], id, "all")
		return nil
	}
	fmt.Fprint(stderr, opsUsage)
	return usageError("ops provisioning: unknown action " + args[1])
}

func listServices(ctx context.Context, s *store.Store, status billing.ServiceStatus, w io.Writer) error {
	if status == "all" {
		status = ""
	}
	list, err := s.Services(ctx, store.ServiceFilter{Status: status, Limit: 500})
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(w, "no services")
		return nil
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tCUSTOMER\tPRODUCT\tPANEL\tWORKFLOW\tATTENTION")
	for _, svc := range list {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", svc.ID, svc.Status, svc.CustomerEmail, svc.ProductName, svc.PanelName, workflows.ProvisionID(svc.ID), svc.Attention)
	}
	return tw.Flush()
}
