// Package repo finds the repository's own files for tests: its root and the Temporal CLI that
// the test command installs into ./bin. It imports only the standard library so any test can use it.
package repo

import (
	"os"
	"path/filepath"
	"testing"
)

// Root is the directory holding go.mod.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// SkipUnlessCI skips the test on a developer machine and fails it in CI (env CI set), where a
// skip would hide an integration test.
func SkipUnlessCI(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "" {
		t.Skip(why)
	}
	t.Fatalf("%s (CI is set, so this must not be skipped; scripts/test.sh installs what the tests need)", why)
}

// TemporalCLI is ./bin/temporal at the repository root, skipping (or, in CI, failing) without it.
func TemporalCLI(t testing.TB) string {
	t.Helper()
	p := filepath.Join(Root(t), "bin", "temporal")
	if _, err := os.Stat(p); err != nil {
		SkipUnlessCI(t, "Temporal CLI missing at "+p+": run scripts/test.sh, or GOBIN=$PWD/bin go install github.com/temporalio/cli/cmd/temporal@v1.5.1")
	}
	return p
}
