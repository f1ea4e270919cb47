// Package connect opens a panel client for an instance of the panel registry: it unseals the
// stored credentials and picks the client package for the panel type.
package connect

import (
	"context"
	"encoding/json"
	"fmt"

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

// Registry opens clients for panel instances by id.
type Registry struct {
	Store   *store.Store
	Secrets *secrets.Box
}

// Open returns the client of panel instance id.
func (r Registry) Open(ctx context.Context, id int64) (panels.Client, error) {
	ps, err := r.Store.PanelServerByID(ctx, id)
	if err != nil {
		return nil, err
	}
	cfg, err := Config(r.Secrets, ps)
	if err != nil {
		return nil, err
	}
	return New(cfg)
}
