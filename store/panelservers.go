package store

import (
	"context"
	"fmt"
	"time"
)

// PanelServer is one control panel instance in the registry. Token and Extra are sealed with
// APP_KEY by the caller (secrets.Box); the store never sees them in the clear.
type PanelServer struct {
	ID          int64     `db:"id"`
	Name        string    `db:"name"`
	Type        string    `db:"type"`
	BaseURL     string    `db:"base_url"`
	TokenSealed []byte    `db:"token_sealed"`
	ExtraSealed []byte    `db:"extra_sealed"`
	Capacity    int       `db:"capacity"`
	Enabled     bool      `db:"enabled"`
	CreatedAt   time.Time `db:"created_at"`
	UpdatedAt   time.Time `db:"updated_at"`
	// Services counts the live services on it (read models only).
	Services int `db:"services"`
}

const panelServerColumns = `id, name, type, base_url, token_sealed, extra_sealed, capacity, enabled, created_at, updated_at`

// CreatePanelServer adds a panel instance; a taken name is ErrConflict.
func (s *Store) CreatePanelServer(ctx context.Context, p PanelServer) (PanelServer, error) {
	var out PanelServer
	err := s.db.GetContext(ctx, &out, `
		INSERT INTO panel_servers (name, type, base_url, token_sealed, extra_sealed, capacity, enabled)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+panelServerColumns,
		p.Name, p.Type, p.BaseURL, p.TokenSealed, p.ExtraSealed, p.Capacity, p.Enabled)
	if isUniqueViolation(err) {
		return PanelServer{}, fmt.Errorf("panel server %q: %w", p.Name, ErrConflict)
	}
	if err != nil {
		return PanelServer{}, fmt.Errorf("create panel server %q: %w", p.Name, err)
	}
	return out, nil
}

// UpdatePanelServer changes a panel instance. Nil sealed values keep the stored credentials.
func (s *Store) UpdatePanelServer(ctx context.Context, p PanelServer) error {
	res, err := s.db.ExecContext(ctx, `
		UPDATE panel_servers SET name = $2, base_url = $3, token_sealed = COALESCE($4, token_sealed),
			extra_sealed = COALESCE($5, extra_sealed), capacity = $6, enabled = $7, updated_at = now()
		WHERE id = $1`, p.ID, p.Name, p.BaseURL, p.TokenSealed, p.ExtraSealed, p.Capacity, p.Enabled)
	if isUniqueViolation(err) {
		return fmt.Errorf("panel server %q: %w", p.Name, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("update panel server %d: %w", p.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("update panel server %d: %w", p.ID, ErrNotFound)
	}
	return nil
}

// PanelServerByID loads a panel instance.
func (s *Store) PanelServerByID(ctx context.Context, id int64) (PanelServer, error) {
	var p PanelServer
	if err := s.db.GetContext(ctx, &p, `SELECT `+panelServerColumns+` FROM panel_servers WHERE id = $1`, id); err != nil {
		return PanelServer{}, notFound(err, fmt.Sprintf("panel server %d", id))
	}
	return p, nil
}

// PanelServerByName loads a panel instance by its unique name.
func (s *Store) PanelServerByName(ctx context.Context, name string) (PanelServer, error) {
	var p PanelServer
	if err := s.db.GetContext(ctx, &p, `SELECT `+panelServerColumns+` FROM panel_servers WHERE name = $1`, name); err != nil {
		return PanelServer{}, notFound(err, "panel server "+name)
	}
	return p, nil
}

// PanelServers lists the registry with the number of live services on each.
func (s *Store) PanelServers(ctx context.Context) ([]PanelServer, error) {
	var out []PanelServer
	err := s.db.SelectContext(ctx, &out, `
		SELECT p.id, p.name, p.type, p.base_url, p.token_sealed, p.extra_sealed, p.capacity, p.enabled, p.created_at, p.updated_at,
		       (SELECT count(*) FROM services s WHERE s.panel_server_id = p.id AND s.status NOT IN ('terminated', 'abandoned')) AS services
		FROM panel_servers p ORDER BY p.type, p.name`)
	if err != nil {
		return nil, fmt.Errorf("list panel servers: %w", err)
	}
	return out, nil
}

// PickPanelServer chooses the enabled instance of a panel type with the most room left (our own
// capacity limit; 0 means no limit), or ErrNotFound when none can take another service.
func (s *Store) PickPanelServer(ctx context.Context, panelType string) (PanelServer, error) {
	var p PanelServer
	err := s.db.GetContext(ctx, &p, `
		SELECT * FROM (
			SELECT p.id, p.name, p.type, p.base_url, p.token_sealed, p.extra_sealed, p.capacity, p.enabled, p.created_at, p.updated_at,
			       (SELECT count(*) FROM services s WHERE s.panel_server_id = p.id AND s.status NOT IN ('terminated', 'abandoned')) AS services
			FROM panel_servers p WHERE p.type = $1 AND p.enabled
		) c
		WHERE c.capacity = 0 OR c.services < c.capacity
		ORDER BY CASE WHEN c.capacity = 0 THEN 1 ELSE c.services::float / c.capacity END, c.id
		LIMIT 1`, panelType)
	if err != nil {
		return PanelServer{}, notFound(err, "a "+panelType+" panel with room")
	}
	return p, nil
}
