package workflows

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
)

// recordedHistories are the histories each workflow must have in testdata/, so a lost recording
// is noticed instead of silently replaying less.
var recordedHistories = []string{"onboarding_*.json", "provision_*.json", "subscription_*.json", "dunning_*.json"}

// TestRecordedHistoriesReplay proves the current workflow code makes the same decisions as the
// code that recorded each history in testdata/. A failure means a change would break running
// workflows: guard it with workflow.GetVersion. Histories are recorded by the dev-server tests
// with EZSCALE_RECORD_HISTORY=1.
func TestRecordedHistoriesReplay(t *testing.T) {
	for _, pattern := range recordedHistories {
		if m, err := filepath.Glob(filepath.Join("testdata", pattern)); err != nil || len(m) == 0 {
			t.Fatalf("no recorded histories match testdata/%s (%v): the replay test would prove nothing for them", pattern, err)
		}
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			replayer := worker.NewWorkflowReplayer()
			replayer.RegisterWorkflow(Onboarding)
			replayer.RegisterWorkflow(Provision)
			replayer.RegisterWorkflow(Subscription)
			replayer.RegisterWorkflow(Dunning)
			if err := replayer.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}
