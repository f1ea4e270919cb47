// Package simstore keeps the dev world's simulators (the four panel simulators and the sandbox
// payment gateway) in PostgreSQL between runs, so restarting `ezscale dev` continues where it
// stopped: each simulator saves its whole state as one JSON document after every change and loads
// it when it starts. The documents live in the dev database in a schema of their own (devsim by
// default), apart from the product's tables; dropping that schema starts the fake world afresh.
//
// This is the only package that holds SQL for the simulators' persistence.
package simstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultSchema is the schema the dev world keeps its simulators in.
const DefaultSchema = "devsim"

// Store keeps one JSON document per simulator name.
type Store interface {
	// Load returns the document saved under name, or nil when there is none.
	Load(ctx context.Context, name string) ([]byte, error)
	// Save replaces the document saved under name.
	Save(ctx context.Context, name string, doc []byte) error
}

// Postgres is a Store in a PostgreSQL schema: table <schema>.state (name, doc, saved_at).
type Postgres struct {
	pool   *pgxpool.Pool
	schema string
}

// Open connects to the database at dsn and creates the schema and its table when missing. An
// empty schema means DefaultSchema. Close it when done.
func Open(ctx context.Context, dsn, schema string) (*Postgres, error) {
	if schema == "" {
		schema = DefaultSchema
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("simstore: parse database url: %w", err)
	}
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("simstore: connect: %w", err)
	}
	p := &Postgres{pool: pool, schema: pgx.Identifier{schema}.Sanitize()}
	ddl := `CREATE SCHEMA IF NOT EXISTS ` + p.schema + `;
CREATE TABLE IF NOT EXISTS ` + p.schema + `.state (
	name     text PRIMARY KEY,
	doc      jsonb NOT NULL,
	saved_at timestamptz NOT NULL DEFAULT now()
)`
	// Two dev processes starting at once may both create the schema; a lock keeps them apart.
	tx, err := pool.Begin(ctx)
	if err == nil {
		if _, err = tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('ezscale simstore'))`); err == nil {
			if _, err = tx.Exec(ctx, ddl); err == nil {
				err = tx.Commit(ctx)
			}
		}
		_ = tx.Rollback(ctx)
	}
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("simstore: create schema %s: %w", schema, err)
	}
	return p, nil
}

// Close releases the connections.
func (p *Postgres) Close() { p.pool.Close() }

// Load returns the document saved under name, or nil when there is none.
func (p *Postgres) Load(ctx context.Context, name string) ([]byte, error) {
	var doc []byte
	err := p.pool.QueryRow(ctx, `SELECT doc::text FROM `+p.schema+`.state WHERE name = $1`, name).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("simstore: load %s: %w", name, err)
	}
	return doc, nil
}

// Save replaces the document saved under name.
func (p *Postgres) Save(ctx context.Context, name string, doc []byte) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO `+p.schema+`.state (name, doc, saved_at) VALUES ($1, $2::text::jsonb, now())
ON CONFLICT (name) DO UPDATE SET doc = excluded.doc, saved_at = excluded.saved_at`, name, string(doc))
	if err != nil {
		return fmt.Errorf("simstore: save %s: %w", name, err)
	}
	return nil
}

// Memory is a Store in memory, for tests that restart a simulator without a database.
type Memory struct {
	mu   sync.Mutex
	docs map[string][]byte
}

// Load returns the document saved under name, or nil when there is none.
func (m *Memory) Load(_ context.Context, name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return bytes.Clone(m.docs[name]), nil
}

// Save replaces the document saved under name.
func (m *Memory) Save(_ context.Context, name string, doc []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.docs == nil {
		m.docs = map[string][]byte{}
	}
	m.docs[name] = bytes.Clone(doc)
	return nil
}

// saveTimeout bounds one save, which runs after the request that caused it may have ended.
const saveTimeout = 10 * time.Second

// Keeper saves one simulator's state under its name, skipping saves that would change nothing.
// A nil *Keeper keeps nothing, so a simulator without a store calls it all the same. Callers
// serialise their calls (simulators call it under their own lock).
type Keeper struct {
	store Store
	name  string
	log   *slog.Logger
	last  []byte
}

// NewKeeper returns a Keeper saving under name in st; nil st gives a nil Keeper. A nil log
// means slog.Default().
func NewKeeper(st Store, name string, log *slog.Logger) *Keeper {
	if st == nil {
		return nil
	}
	if log == nil {
		log = slog.Default()
	}
	return &Keeper{store: st, name: name, log: log}
}

// Load decodes the saved state into v; found is false (and v untouched) when nothing is saved.
func (k *Keeper) Load(ctx context.Context, v any) (found bool, err error) {
	if k == nil {
		return false, nil
	}
	doc, err := k.store.Load(ctx, k.name)
	if err != nil || doc == nil {
		return false, err
	}
	if err := json.Unmarshal(doc, v); err != nil {
		return false, fmt.Errorf("simstore: decode the saved state of %s: %w", k.name, err)
	}
	return true, nil
}

// Resume loads the saved state into v and, when there was one, calls restore, which applies v
// to the simulator. A nil Keeper finds nothing.
func (k *Keeper) Resume(ctx context.Context, v any, restore func()) error {
	found, err := k.Load(ctx, v)
	if err != nil {
		return err
	}
	if found {
		restore()
	}
	return nil
}

// Save encodes v and stores it when it differs from what was saved last. A failure is logged:
// the simulator goes on serving from memory, as it would without a store.
func (k *Keeper) Save(ctx context.Context, v any) {
	if k == nil {
		return
	}
	doc, err := json.Marshal(v)
	if err != nil {
		k.log.Error("simstore: encode state", "sim", k.name, "err", err)
		return
	}
	if bytes.Equal(doc, k.last) {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
	defer cancel()
	if err := k.store.Save(ctx, k.name, doc); err != nil {
		k.log.Error("simstore: save state", "sim", k.name, "err", err)
		return
	}
	k.last = doc
}
