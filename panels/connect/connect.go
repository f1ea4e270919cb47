// Package connect opens a panel client for an instance of the panel registry: it unseals the
// stored credentials and picks the client package for the panel type.
package connect

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/ezscale/billing/panels"
	"github.com/ezscale/billing/panels/enhance"
	"github.com/ezscale/billing/panels/pterodactyl"
	"github.com/ezscale/billing/panels/synergycp"
	"github.com/ezscale/billing/panels/virtfusion"
	"github.com/ezscale/billing/secrets"
	"github.com/ezscale/billing/store"
)

// New returns the client for a panel configuration.
func New(cfg panels.Config) (panels.Client, error) {
	switch cfg.Type {
	case panels.VirtFusion:
		return virtfusion.New(cfg)
	case panels.Pterodactyl:
		return pterodactyl.New(cfg)
	case panels.SynergyCP:
		return synergycp.New(cfg)
	case panels.Enhance:
		return enhance.New(cfg)
	}
	return nil, fmt.Errorf("unknown panel type %q", cfg.Type)
}

// Seal encrypts a panel's token and extra settings for the registry.
func Seal(box *secrets.Box, token string, extra map[string]string) (tokenSealed, extraSealed []byte, err error) {
	if extra == nil {
		extra = map[string]string{}
	}
	b, err := json.Marshal(extra)
	if err != nil {
		return nil, nil, err
	}
	if tokenSealed, err = box.Seal([]byte(token)); err != nil {
		return nil, nil, err
	}
	if extraSealed, err = box.Seal(b); err != nil {
		return nil, nil, err
	}
	return tokenSealed, extraSealed, nil
}

// Config unseals a registry entry into a panel configuration.
func Config(box *secrets.Box, ps store.PanelServer) (panels.Config, error) {
	token, err := box.Open(ps.TokenSealed)
	if err != nil {
		return panels.Config{}, fmt.Errorf("panel %s token: %w", ps.Name, err)
	}
	raw, err := box.Open(ps.ExtraSealed)
	if err != nil {
		return panels.Config{}, fmt.Errorf("panel %s settings: %w", ps.Name, err)
	}
	extra := map[string]string{}
	if err := json.Unmarshal(raw, &extra); err != nil {
		return panels.Config{}, fmt.Errorf("panel %s settings: %w", ps.Name, err)
	}
	return panels.Config{Type: panels.Type(ps.Type), BaseURL: ps.BaseURL, Token: string(token), Extra: extra}, nil
}

// Registry opens clients for panel instances by id. A client is kept while its registry entry is
// unchanged, so what a client holds between calls (VirtFusion's initial root password, between
// the build and the first poll) survives from one activity to the next in this process.
type Registry struct {
	Store   *store.Store
	Secrets *secrets.Box

	mu      sync.Mutex
	clients map[int64]cachedClient
}

type cachedClient struct {
	updated time.Time
	client  panels.Client
}

// NewRegistry returns a registry reading panel instances from st.
func NewRegistry(st *store.Store, box *secrets.Box) *Registry {
	return &Registry{Store: st, Secrets: box, clients: map[int64]cachedClient{}}
}

// Open returns the client of panel instance id, reusing the one made for the same settings.
func (r *Registry) Open(ctx context.Context, id int64) (panels.Client, error) {
	ps, err := r.Store.PanelServerByID(ctx, id)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.clients[id]; ok && c.updated.Equal(ps.UpdatedAt) {
		return c.client, nil
	}
	cfg, err := Config(r.Secrets, ps)
	if err != nil {
		return nil, err
	}
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if r.clients == nil {
		r.clients = map[int64]cachedClient{}
	}
	r.clients[id] = cachedClient{updated: ps.UpdatedAt, client: c}
	return c, nil
}
