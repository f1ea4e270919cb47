// Package simstoretest gives a test its own simstore schema in the test PostgreSQL server, so a
// test can stop a simulator and start another on the same saved state.
package simstoretest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ezscale/billing/devenv/simstore"
	"github.com/ezscale/billing/store/storetest"
)

// Schema returns a fresh schema name on the test server (storetest.AdminURL), dropped when the
// test ends, and that server's DSN.
func Schema(t testing.TB) (dsn, schema string) {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema = "devsim_t_" + hex.EncodeToString(b[:])
	dsn = storetest.AdminURL()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Logf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Logf("drop schema %s: %v", schema, err)
		}
	})
	return dsn, schema
}

// Open opens a simstore in schema on dsn, closed when the test ends. Each simulator run of a
// test opens its own, as a restarted process would.
func Open(t testing.TB, dsn, schema string) *simstore.Postgres {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := simstore.Open(ctx, dsn, schema)
	if err != nil {
		t.Fatalf("open simstore: %v", err)
	}
	t.Cleanup(st.Close)
	return st
}
