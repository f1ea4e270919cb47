package devenv

import (
	"errors"
	"os"
	"testing"
	"time"
)

// TestStateFileIsPrivateAndRemovedOnlyByItsWriter writes a state file, reads it back, checks it
// is readable by its owner only, and checks that a dev stack removing its file on exit leaves
// alone a file another (later) stack wrote.
func TestStateFileIsPrivateAndRemovedOnlyByItsWriter(t *testing.T) {
	dir := t.TempDir()
	want := State{DatabaseURL: "postgres://u:secret@127.0.0.1:5432/ezscale", TemporalAddress: "127.0.0.1:17233",
		TemporalNamespace: "ezscale", TemporalUIURL: "http://localhost:18233", SiteURL: "http://localhost:8080",
		PID: 100, StartedAt: time.Date(2026, 12, 8, 1, 2, 3, 0, time.UTC)}
	if err := WriteState(dir, want); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(StatePath(dir))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v (%v), want 0600: it holds the database URL", fi.Mode(), err)
	}
	got, err := ReadState(dir)
	if err != nil || got != want {
		t.Fatalf("read back %+v (%v), want %+v", got, err, want)
	}
	if err := RemoveState(dir, 200); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(StatePath(dir)); err != nil {
		t.Fatalf("another process's exit removed the state file: %v", err)
	}
	if err := RemoveState(dir, 100); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadState(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("state file after its writer removed it: %v, want not found", err)
	}
	if err := RemoveState(dir, 100); err != nil {
		t.Fatalf("removing a missing state file: %v", err)
	}
}
