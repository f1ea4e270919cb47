package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"

	"github.com/ezscale/billing/store"
)

// paletteLimit is how many records of each kind the command palette returns.
const paletteLimit = 8

// paletteMaxQuery is the longest query the palette searches for; longer input is cut.
const paletteMaxQuery = 100

// paletteItem is one record the palette offers: static/js/app.js shows Label and Detail and
// goes to Href on Enter.
type paletteItem struct {
	Kind   string `json:"kind"` // customer, service, invoice, subscription
	Label  string `json:"label"`
	Detail string `json:"detail,omitempty"`
	Href   string `json:"href"`
}

type paletteAnswer struct {
	Query   string        `json:"query"`
	Results []paletteItem `json:"results"`
}

// paletteSearch is one kind of record the palette searches.
type paletteSearch struct {
	kind string
	href string // fmt pattern taking the record's id
	find func(ctx context.Context, q string) ([]store.PaletteHit, error)
}

// adminPalette answers the staff palette: customers, services and invoices matching q, each
// kind only when the viewer's role may see it, at most paletteLimit of each.
func (s *server) adminPalette(w http.ResponseWriter, r *http.Request) {
	role := currentUser(r).Role
	var kinds []paletteSearch
	if hasPermission(role, permCustomersView) {
		kinds = append(kinds, paletteSearch{"customer", "/admin/customers/%d", func(ctx context.Context, q string) ([]store.PaletteHit, error) {
			return s.Store.PaletteCustomers(ctx, q, paletteLimit)
		}})
	}
	if hasPermission(role, permServicesView) {
		kinds = append(kinds, paletteSearch{"service", "/admin/services/%d", func(ctx context.Context, q string) ([]store.PaletteHit, error) {
			return s.Store.PaletteServices(ctx, q, 0, paletteLimit)
		}})
	}
	if hasPermission(role, permInvoicesView) {
		kinds = append(kinds, paletteSearch{"invoice", "/admin/invoices/%d", func(ctx context.Context, q string) ([]store.PaletteHit, error) {
			return s.Store.PaletteInvoices(ctx, q, 0, paletteLimit)
		}})
	}
	s.palette(w, r, kinds)
}

// accountPalette answers the customer's palette: only their own services, invoices and
// subscriptions. Every query is scoped by the signed-in customer's id in SQL.
func (s *server) accountPalette(w http.ResponseWriter, r *http.Request) {
	customerID := currentUser(r).ID
	if customerID <= 0 { // never search unscoped: 0 would mean every customer's records
		s.notFound(w, r)
		return
	}
	s.palette(w, r, []paletteSearch{
		{"service", "/account/services/%d", func(ctx context.Context, q string) ([]store.PaletteHit, error) {
			return s.Store.PaletteServices(ctx, q, customerID, paletteLimit)
		}},
		{"invoice", "/account/invoices/%d", func(ctx context.Context, q string) ([]store.PaletteHit, error) {
			return s.Store.PaletteInvoices(ctx, q, customerID, paletteLimit)
		}},
		{"subscription", "/account/subscriptions/%d", func(ctx context.Context, q string) ([]store.PaletteHit, error) {
			return s.Store.PaletteSubscriptions(ctx, q, customerID, paletteLimit)
		}},
	})
}

// palette runs the searches for ?q= and writes them as JSON; an empty query has no results.
func (s *server) palette(w http.ResponseWriter, r *http.Request, kinds []paletteSearch) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len(q) > paletteMaxQuery {
		q = q[:paletteMaxQuery]
		for !utf8.ValidString(q) {
			q = q[:len(q)-1]
		}
	}
	ans := paletteAnswer{Query: q, Results: []paletteItem{}}
	if q != "" {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		// The kinds are searched at once; the answer keeps their order.
		found := make([][]store.PaletteHit, len(kinds))
		g, gctx := errgroup.WithContext(ctx)
		for i, k := range kinds {
			g.Go(func() (err error) {
				if found[i], err = k.find(gctx, q); err != nil {
					return fmt.Errorf("%s: %w", k.kind, err)
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			s.Log.Error("palette search", "err", err)
			w.Header().Set("Cache-Control", "no-store")
			http.Error(w, `{"error":"search failed"}`, http.StatusInternalServerError)
			return
		}
		for i, k := range kinds {
			hits := found[i]
			for _, h := range hits {
				ans.Results = append(ans.Results, paletteItem{Kind: k.kind, Label: h.Label, Detail: h.Detail, Href: fmt.Sprintf(k.href, h.ID)})
			}
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(ans)
}
