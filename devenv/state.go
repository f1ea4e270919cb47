package devenv

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// StateFile is the name, inside the dev data directory, of the file where `ezscale dev` records
// the addresses it resolved, for the other commands run alongside it.
const StateFile = "dev.json"

// State is what a running dev stack tells the other commands: where its database, Temporal
// server and web site are. It holds the database password when the URL has one, so the file is
// readable by its owner only.
type State struct {
	DatabaseURL       string    `json:"database_url"`
	TemporalAddress   string    `json:"temporal_address"`
	TemporalNamespace string    `json:"temporal_namespace"`
	TemporalUIURL     string    `json:"temporal_ui_url"`
	SiteURL           string    `json:"site_url"`
	PID               int       `json:"pid"`
	StartedAt         time.Time `json:"started_at"`
}

// WriteState records s in dataDir/dev.json with mode 0600, replacing the file atomically.
func WriteState(dataDir string, s State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode dev state: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dataDir, err)
	}
	f, err := os.CreateTemp(dataDir, StateFile+".*")
	if err != nil {
		return fmt.Errorf("write dev state: %w", err)
	}
	defer os.Remove(f.Name()) // after the rename, a no-op
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("write dev state: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("write dev state: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write dev state: %w", err)
	}
	if err := os.Rename(f.Name(), StatePath(dataDir)); err != nil {
		return fmt.Errorf("write dev state: %w", err)
	}
	return nil
}

// ReadState reads dataDir/dev.json; an error wrapping fs.ErrNotExist means no dev stack
// recorded one.
func ReadState(dataDir string) (State, error) {
	var s State
	b, err := os.ReadFile(StatePath(dataDir))
	if err != nil {
		return s, fmt.Errorf("read dev state: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("read dev state %s: %w", StatePath(dataDir), err)
	}
	return s, nil
}

// RemoveState deletes dataDir/dev.json written by the process pid, when it is still that
// process's; a file a later dev stack wrote is left alone.
func RemoveState(dataDir string, pid int) error {
	s, err := ReadState(dataDir)
	if errors.Is(err, os.ErrNotExist) || (err == nil && s.PID != pid) {
		return nil
	}
	if err := os.Remove(StatePath(dataDir)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove dev state: %w", err)
	}
	return nil
}

// StatePath is the state file's path in dataDir.
func StatePath(dataDir string) string { return filepath.Join(dataDir, StateFile) }
