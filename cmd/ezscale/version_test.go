package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ezscale/billing/testenv/repo"
)

// TestVersionOfAGitBuildNamesItsRevision builds ezscale with plain `go build` in a git checkout
// of this tree (VCS stamping on, whatever GOFLAGS says) and checks `ezscale version` names the
// checkout's commit, its time, and whether the tree had uncommitted changes.
func TestVersionOfAGitBuildNamesItsRevision(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	root := repo.Root(t)
	if _, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output(); err != nil {
		t.Skipf("%s is not a git checkout: %v", root, err)
	}
	dir := root
	if fi, err := os.Stat(filepath.Join(root, ".git")); err != nil || !fi.IsDir() {
		// The go command stamps VCS information only where .git is a directory, not in a
		// `git worktree` (where it is a file): build in a clone holding the same tree.
		dir = mirrorCheckout(t, root)
	}
	head := gitOutput(t, dir, "rev-parse", "HEAD")
	dirty := gitOutput(t, dir, "status", "--porcelain") != ""
	secs, err := strconv.ParseInt(gitOutput(t, dir, "log", "-1", "--format=%ct"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	committed := time.Unix(secs, 0).UTC().Format(time.RFC3339)

	bin := filepath.Join(t.TempDir(), "ezscale")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, "./cmd/ezscale")
	build.Dir = dir
	build.Env = append(withoutVar(os.Environ(), "GOFLAGS"), "GOTOOLCHAIN=local")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var stdout bytes.Buffer
	cmd := exec.Command(bin, "version")
	cmd.Stdout = &stdout
	if err := cmd.Run(); err != nil {
		t.Fatalf("ezscale version: %v", err)
	}
	out := strings.TrimSpace(stdout.String())
	t.Logf("ezscale version: %s", out)
	if f := strings.Fields(out); len(f) < 2 || f[0] != "ezscale" || f[1] == "dev" {
		t.Errorf("version line %q does not name the module version", out)
	}
	if !strings.Contains(out, "revision "+head) {
		t.Errorf("version line %q does not name HEAD %s", out, head)
	}
	if !strings.Contains(out, committed) {
		t.Errorf("version line %q does not carry HEAD's commit time %s", out, committed)
	}
	if got := strings.Contains(out, "modified"); got != dirty {
		t.Errorf("version line %q says modified=%v; git status says the tree is dirty=%v", out, got, dirty)
	}
}

// mirrorCheckout clones root's repository into a temporary directory at root's HEAD and copies
// root's working tree over it (tracked and untracked files, not ignored ones), so the clone has
// the same commit and the same uncommitted changes.
func mirrorCheckout(t *testing.T, root string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "checkout")
	head := gitOutput(t, root, "rev-parse", "HEAD")
	gitOutput(t, root, "clone", "--quiet", "--shared", "--no-checkout", root, dir)
	gitOutput(t, dir, "reset", "--quiet", head)
	files := strings.Split(strings.TrimRight(gitOutput(t, root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"), "\x00"), "\x00")
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, f))
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted in the working tree
		}
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func gitOutput(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s in %s: %v", strings.Join(args, " "), dir, err)
	}
	return strings.TrimSpace(string(out))
}

// TestVersionWithoutVCSInformationSaysSo checks the fallback: a build with -buildvcs=false and no
// -X version prints the module's "devel" and says no revision was recorded, and -X wins.
func TestVersionWithoutVCSInformationSaysSo(t *testing.T) {
	bare := buildInfo{Version: "devel", GoVersion: "go1.26.0"}
	if got, want := bare.String(), "ezscale devel (no VCS revision recorded; go1.26.0)"; got != want {
		t.Errorf("version without VCS information: %q, want %q", got, want)
	}
	full := buildInfo{Version: "v1.4.0", Revision: "abc123", Time: "2026-12-08T01:29:41Z", Modified: true, GoVersion: "go1.26.0"}
	if got, want := full.String(), "ezscale v1.4.0 (revision abc123, 2026-12-08T01:29:41Z, modified; go1.26.0)"; got != want {
		t.Errorf("version with VCS information: %q, want %q", got, want)
	}
	if got, want := full.logValue(), "v1.4.0+abc123-modified"; got != want {
		t.Errorf("log value %q, want %q", got, want)
	}
}
