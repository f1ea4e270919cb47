package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/ezscale/billing/panels"
	"github.com/ezscale/billing/panels/connect"
	"github.com/ezscale/billing/store"
	"github.com/ezscale/billing/web"
)

func (s *server) adminPanels(w http.ResponseWriter, r *http.Request) {
	list, err := s.Store.PanelServers(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := web.AdminPanels{}
	for _, p := range list {
		v.Panels = append(v.Panels, web.PanelRow{ID: p.ID, Name: p.Name, Type: p.Type, BaseURL: p.BaseURL, Capacity: p.Capacity, Services: p.Services, Enabled: p.Enabled})
	}
	page := s.page(r, "Panels", v)
	switch r.URL.Query().Get("test") {
	case "ok":
		page.Flash = "Connection works: the panel answered with these credentials."
	case "failed":
		page.Error = "Connection failed: " + r.URL.Query().Get("why")
	}
	s.render(w, r, http.StatusOK, "admin_panels", page)
}

func panelTypes() []string {
	var out []string
	for _, t := range panels.Types() {
		out = append(out, string(t))
	}
	return out
}

// adminPanelForm shows the add form, or the edit form of /admin/panels/{id}. The token is never shown.
func (s *server) adminPanelForm(w http.ResponseWriter, r *http.Request) {
	p := s.page(r, "Add panel", web.PanelForm{Types: panelTypes()})
	p.Form["enabled"], p.Form["capacity"] = "on", "0"
	if chi.URLParam(r, "id") != "" {
		id, ok := pathID(r)
		if !ok {
			s.notFound(w, r)
			return
		}
		ps, err := s.Store.PanelServerByID(r.Context(), id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		cfg, err := connect.Config(s.Secrets, ps)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		p = s.page(r, "Edit panel "+ps.Name, web.PanelForm{ID: ps.ID, Types: panelTypes()})
		p.Form = map[string]string{"name": ps.Name, "type": ps.Type, "base_url": ps.BaseURL, "capacity": strconv.Itoa(ps.Capacity), "extra": formatSettings(cfg.Extra, true)}
		if ps.Enabled {
			p.Form["enabled"] = "on"
		}
	}
	s.render(w, r, http.StatusOK, "admin_panel_form", p)
}

// adminSavePanel adds or edits a panel instance; credentials are sealed with APP_KEY.
func (s *server) adminSavePanel(w http.ResponseWriter, r *http.Request) {
	var id int64
	if r.URL.Path != "/admin/panels" {
		var ok bool
		if id, ok = pathID(r); !ok {
			s.notFound(w, r)
			return
		}
	}
	f := map[string]string{}
	for _, k := range []string{"name", "type", "base_url", "capacity", "extra", "enabled"} {
		f[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	p := s.page(r, "Panel", web.PanelForm{ID: id, Types: panelTypes()})
	p.Form = f
	if f["name"] == "" || len(f["name"]) > 100 {
		p.Errors["name"] = "Enter a name (up to 100 characters)."
	}
	if !slices.Contains(panelTypes(), f["type"]) {
		p.Errors["type"] = "Choose the panel type."
	}
	if u, err := url.Parse(f["base_url"]); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.Errors["base_url"] = "Enter the panel's API URL, such as https://panel.example.com/api/v1."
	}
	capacity, err := strconv.Atoi(f["capacity"])
	if err != nil || capacity < 0 {
		p.Errors["capacity"] = "Enter a whole number; 0 means no limit."
	}
	extra, err := parseExtra(f["extra"])
	if err != nil {
		p.Errors["extra"] = err.Error()
	}
	if id == 0 && token == "" {
		p.Errors["token"] = "Enter the API token."
	}
	if len(p.Errors) > 0 {
		p.Error = "Please correct the highlighted fields."
		s.render(w, r, http.StatusUnprocessableEntity, "admin_panel_form", p)
		return
	}
	ps := store.PanelServer{ID: id, Name: f["name"], Type: f["type"], BaseURL: strings.TrimRight(f["base_url"], "/"), Capacity: capacity, Enabled: f["enabled"] != ""}
	if id != 0 {
		// A blank token and masked secret settings keep what is stored.
		old, err := s.Store.PanelServerByID(r.Context(), id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		cfg, err := connect.Config(s.Secrets, old)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if token == "" {
			token = cfg.Token
		}
		for k, v := range extra {
			if v == maskedSecret {
				extra[k] = cfg.Extra[k]
			}
		}
	}
	ps.TokenSealed, ps.ExtraSealed, err = connect.Seal(s.Secrets, token, extra)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if id == 0 {
		_, err := s.Store.CreatePanelServer(r.Context(), ps)
		if errors.Is(err, store.ErrConflict) {
			p.Errors["name"] = "A panel with this name exists."
			s.render(w, r, http.StatusConflict, "admin_panel_form", p)
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
	} else if err := s.Store.UpdatePanelServer(r.Context(), ps); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/panels", http.StatusSeeOther)
}

func (s *server) adminTestPanel(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	if err := s.Control.TestPanel(ctx, id); err != nil {
		http.Redirect(w, r, "/admin/panels?test=failed&why="+url.QueryEscape(err.Error()), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/admin/panels?test=ok", http.StatusSeeOther)
}

// parseExtra reads "key=value" lines.
func parseExtra(text string) (map[string]string, error) {
	out := map[string]string{}
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("line %d: write key=value", n+1)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}

// maskedSecret stands for a stored secret setting on the edit form.
const maskedSecret = "********"

// formatSettings writes settings as "key=value" lines; with mask, secret ones (keys, tokens,
// passwords) are shown as maskedSecret.
func formatSettings(m map[string]string, mask bool) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v := m[k]
		if l := strings.ToLower(k); mask && (strings.Contains(l, "key") || strings.Contains(l, "token") || strings.Contains(l, "password")) {
			v = maskedSecret
		}
		fmt.Fprintf(&b, "%s=%s\n", k, v)
	}
	return b.String()
}
