package main

import (
	"errors"
	"io"
	"io/fs"
	"strings"

	"github.com/ezscale/billing/devenv"
)

// withDevState lets the one-shot commands (migrate, seed, analytics, ops) reach what a running
// `ezscale dev` uses: a variable that is unset is read from the dev stack's state file
// (DATA_DIR/dev.json) when there is one. Variables that are set always win. A log line on
// stderr says which values came from the file.
func withDevState(getenv func(string) string, stderr io.Writer) func(string) string {
	dataDir := strings.TrimSpace(getenv("DATA_DIR"))
	if dataDir == "" {
		dataDir = "var"
	}
	st, err := devenv.ReadState(dataDir)
	log := newLogger(stderr, "info")
	if errors.Is(err, fs.ErrNotExist) {
		return getenv
	}
	if err != nil {
		log.Warn("ignoring the dev stack's state file", "err", err)
		return getenv
	}
	fromFile := map[string]string{
		"DATABASE_URL":       st.DatabaseURL,
		"TEMPORAL_ADDRESS":   st.TemporalAddress,
		"TEMPORAL_NAMESPACE": st.TemporalNamespace,
		"TEMPORAL_UI_URL":    st.TemporalUIURL,
	}
	var used []string
	for _, name := range []string{"DATABASE_URL", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_UI_URL"} {
		if strings.TrimSpace(getenv(name)) == "" && fromFile[name] != "" {
			used = append(used, name)
		} else {
			delete(fromFile, name)
		}
	}
	if len(used) == 0 {
		return getenv
	}
	log.Info("using the dev stack's state file for unset variables",
		"file", devenv.StatePath(dataDir), "variables", used, "temporal_address", st.TemporalAddress,
		"dev_pid", st.PID, "dev_started_at", st.StartedAt)
	return func(name string) string {
		if v, ok := fromFile[name]; ok {
			return v
		}
		return getenv(name)
	}
}
