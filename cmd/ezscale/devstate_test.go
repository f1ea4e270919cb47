package main

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/billing/billing"
	"github.com/ezscale/billing/devenv"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/testenv"
)

// TestOpsUsesTheDevStacksStateFileWhenVariablesAreUnset runs `ezscale ops provisioning` with
// no DATABASE_URL, TEMPORAL_ADDRESS or TEMPORAL_NAMESPACE, only the state file a dev stack
// writes (its Temporal on a random port, not 7233, and a namespace that is not the default):
// list reads the dev database, retry reaches the dev Temporal server and the service recovers,
// stderr says where the values came from, and a variable that is set still wins over the file.
func TestOpsUsesTheDevStacksStateFileWhenVariablesAreUnset(t *testing.T) {
	st := testenv.NewStack(t, testenv.Options{})
	ctx := context.Background()
	if strings.HasSuffix(st.TemporalAddress, ":7233") {
		t.Skip("the dev server took port 7233: the test needs another")
	}
	dataDir := filepath.Join(t.TempDir(), "var")
	if err := devenv.WriteState(dataDir, devenv.State{DatabaseURL: st.DSN, TemporalAddress: st.TemporalAddress,
		TemporalNamespace: testenv.Namespace, TemporalUIURL: "http://localhost:8233", PID: os.Getpid(), StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(devenv.StatePath(dataDir)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, mode %v; want it readable by its owner only (it holds the database URL)", err, fi.Mode())
	}
	env := map[string]string{"DATA_DIR": dataDir}
	ezscale := func(args ...string) (string, string, error) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		err := run(ctx, args, func(k string) string { return env[k] }, &stdout, &stderr)
		t.Logf("ezscale %s: err=%v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
		return stdout.String(), stderr.String(), err
	}

	// A service that needs attention: the panel creates the server and refuses to build it.
	admin := newOpsAdmin(t, st)
	cust := opsUser(t, st, "devstate@example.com", store.RoleCustomer)
	prod, err := st.Store.ProductByID(ctx, opsProductID(t, st, "vps-8gb"))
	if err != nil {
		t.Fatal(err)
	}
	broken := maps.Clone(prod.PanelOptions)
	broken["os_template"] = "999"
	if err := st.Store.SetProductPanel(ctx, prod.ID, prod.PanelType.String, prod.PanelPlanID, broken); err != nil {
		t.Fatal(err)
	}
	id := admin.createService(cust.ID, prod.ID, "devstate.example.com")
	opsWaitStatus(t, st, id, billing.ServiceNeedsAttention)

	out, stderr, err := ezscale("ops", "provisioning", "list")
	if err != nil {
		t.Fatalf("ops provisioning list with only the dev state file: %v", err)
	}
	if opsRow(out, id) == "" {
		t.Fatalf("ops provisioning list does not show service %d from the dev database:\n%s", id, out)
	}
	if !strings.Contains(stderr, devenv.StatePath(dataDir)) || !strings.Contains(stderr, "DATABASE_URL") {
		t.Errorf("stderr does not say DATABASE_URL came from %s:\n%s", devenv.StatePath(dataDir), stderr)
	}

	if err := st.Store.SetProductPanel(ctx, prod.ID, prod.PanelType.String, prod.PanelPlanID, prod.PanelOptions); err != nil {
		t.Fatal(err)
	}
	_, stderr, err = ezscale("ops", "provisioning", "retry", strconv.FormatInt(id, 10))
	if err != nil {
		t.Fatalf("ops provisioning retry with only the dev state file: %v", err)
	}
	if !strings.Contains(stderr, "TEMPORAL_ADDRESS") || !strings.Contains(stderr, st.TemporalAddress) {
		t.Errorf("stderr does not say TEMPORAL_ADDRESS %s came from the state file:\n%s", st.TemporalAddress, stderr)
	}
	opsWaitStatus(t, st, id, billing.ServiceActive)

	// Set variables win: a wrong DATABASE_URL in the environment is used, not the file's.
	env["DATABASE_URL"] = "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"
	if _, stderr, err := ezscale("ops", "provisioning", "list"); err == nil {
		t.Fatal("ops provisioning list used the state file's database although DATABASE_URL was set")
	} else if strings.Contains(stderr, "DATABASE_URL") && strings.Contains(stderr, "state file") {
		t.Errorf("stderr claims DATABASE_URL came from the state file although it was set:\n%s", stderr)
	}
}
