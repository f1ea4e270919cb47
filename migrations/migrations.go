// Package migrations embeds the goose SQL migrations that build the platform's PostgreSQL schema.
package migrations

import "embed"

// FS holds every migration file, applied in name order by store.Migrate.
//
//go:embed *.sql
var FS embed.FS
