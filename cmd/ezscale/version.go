package main

import (
	"runtime/debug"
	"strings"
)

// version, when set at build time with -ldflags "-X main.version=v1.2.3" (the Dockerfile's
// VERSION), names the release; otherwise the module version from the build information is used.
var version string

// buildInfo is what `ezscale version` reports and the servers log at start.
type buildInfo struct {
	Version   string // release or module version; "devel" for a build of a working tree
	Revision  string // VCS commit, empty when the build carries none
	Time      string // commit time, RFC 3339
	Modified  bool   // the working tree had uncommitted changes
	GoVersion string
}

// readBuildInfo combines the -X version with the module and VCS information the Go toolchain
// stamps into the binary (go build in a git checkout, without -buildvcs=false).
func readBuildInfo() buildInfo {
	bi := buildInfo{Version: version}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		if bi.Version == "" {
			bi.Version = "unknown"
		}
		return bi
	}
	bi.GoVersion = info.GoVersion
	if bi.Version == "" {
		bi.Version = info.Main.Version
	}
	if bi.Version == "" || bi.Version == "(devel)" {
		bi.Version = "devel"
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			bi.Revision = s.Value
		case "vcs.time":
			bi.Time = s.Value
		case "vcs.modified":
			bi.Modified = s.Value == "true"
		}
	}
	return bi
}

// String is the one line `ezscale version` prints, e.g.
// "ezscale v1.4.0 (revision 7561206…, 2026-12-08T01:29:41Z, modified; go1.26.0)".
func (b buildInfo) String() string {
	var details []string
	if b.Revision != "" {
		rev := "revision " + b.Revision
		if b.Time != "" {
			rev += ", " + b.Time
		}
		if b.Modified {
			rev += ", modified"
		}
		details = append(details, rev)
	} else {
		details = append(details, "no VCS revision recorded")
	}
	if b.GoVersion != "" {
		details = append(details, b.GoVersion)
	}
	return "ezscale " + b.Version + " (" + strings.Join(details, "; ") + ")"
}

// logValue is the short form for log lines: the version and, when known, the revision.
func (b buildInfo) logValue() string {
	s := b.Version
	if b.Revision != "" {
		s += "+" + b.Revision
		if b.Modified {
			s += "-modified"
		}
	}
	return s
}
