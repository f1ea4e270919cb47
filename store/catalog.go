package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// ProductGroup is a heading of the catalog, such as "Cloud VPS".
type ProductGroup struct {
	ID          int64  `db:"id"`
	Slug        string `db:"slug"`
	Name        string `db:"name"`
	Description string `db:"description"`
	Sort        int    `db:"sort"`
}

// Product is something a customer can order.
type Product struct {
	ID          int64  `db:"id"`
	GroupID     int64  `db:"group_id"`
	Slug        string `db:"slug"`
	Name        string `db:"name"`
	Type        string `db:"type"`
	Description string `db:"description"`
	Hidden      bool   `db:"hidden"`
	Retired     bool   `db:"retired"`
	Sort        int    `db:"sort"`
	// PanelType, PanelPlanID and PanelOptions map the product onto a control panel.
	PanelType    sql.NullString `db:"panel_type"`
	PanelPlanID  string         `db:"panel_plan_id"`
	PanelOptions JSONMap        `db:"panel_options"`
}

const productColumns = `id, group_id, slug, name, type, description, hidden, retired, sort, panel_type, panel_plan_id, panel_options`

// ProductByID loads a product.
func (s *Store) ProductByID(ctx context.Context, id int64) (Product, error) {
	var p Product
	if err := s.db.GetContext(ctx, &p, `SELECT `+productColumns+` FROM products WHERE id = $1`, id); err != nil {
		return Product{}, notFound(err, fmt.Sprintf("product %d", id))
	}
	return p, nil
}

// Products lists every product in catalog order.
func (s *Store) Products(ctx context.Context) ([]Product, error) {
	var out []Product
	err := s.db.SelectContext(ctx, &out, `
		SELECT p.id, p.group_id, p.slug, p.name, p.type, p.description, p.hidden, p.retired, p.sort,
		       p.panel_type, p.panel_plan_id, p.panel_options
		FROM products p JOIN product_groups g ON g.id = p.group_id ORDER BY g.sort, p.sort, p.id`)
	if err != nil {
		return nil, fmt.Errorf("list products: %w", err)
	}
	return out, nil
}

// SetProductPanel maps a product onto a panel type with the panel's plan id and options.
func (s *Store) SetProductPanel(ctx context.Context, productID int64, panelType, planID string, options map[string]string) error {
	res, err := s.db.ExecContext(ctx, `
		UPDATE products SET panel_type = $2, panel_plan_id = $3, panel_options = $4 WHERE id = $1`,
		productID, panelType, planID, JSONMap(options))
	if err != nil {
		return fmt.Errorf("map product %d to %s: %w", productID, panelType, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("map product %d: %w", productID, ErrNotFound)
	}
	return nil
}

// Price is a product's price for one billing cycle in one currency, in minor units.
type Price struct {
	ProductID int64  `db:"product_id"`
	Cycle     string `db:"cycle"`
	Currency  string `db:"currency"`
	Amount    int64  `db:"amount"`
	SetupFee  int64  `db:"setup_fee"`
}

// CatalogEntry is a product with its prices, as the catalog shows it.
type CatalogEntry struct {
	Group   ProductGroup
	Product Product
	Prices  []Price
}

// UpsertCatalogEntry creates or updates a group, a product and its prices by slug in one
// transaction, so seeding twice changes nothing.
func (s *Store) UpsertCatalogEntry(ctx context.Context, e CatalogEntry) (Product, error) {
	var p Product
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var groupID int64
		err := tx.GetContext(ctx, &groupID, `
			INSERT INTO product_groups (slug, name, description, sort) VALUES ($1, $2, $3, $4)
			ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name, description = EXCLUDED.description, sort = EXCLUDED.sort
			RETURNING id`, e.Group.Slug, e.Group.Name, e.Group.Description, e.Group.Sort)
		if err != nil {
			return fmt.Errorf("upsert product group %s: %w", e.Group.Slug, err)
		}
		err = tx.GetContext(ctx, &p, `
			INSERT INTO products (group_id, slug, name, type, description, hidden, retired, sort)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (slug) DO UPDATE SET group_id = EXCLUDED.group_id, name = EXCLUDED.name, type = EXCLUDED.type,
				description = EXCLUDED.description, hidden = EXCLUDED.hidden, retired = EXCLUDED.retired, sort = EXCLUDED.sort
			RETURNING `+productColumns,
			groupID, e.Product.Slug, e.Product.Name, e.Product.Type, e.Product.Description, e.Product.Hidden, e.Product.Retired, e.Product.Sort)
		if err != nil {
			return fmt.Errorf("upsert product %s: %w", e.Product.Slug, err)
		}
		for _, pr := range e.Prices {
			_, err := tx.ExecContext(ctx, `
				INSERT INTO product_prices (product_id, cycle, currency, amount, setup_fee) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (product_id, cycle, currency) DO UPDATE SET amount = EXCLUDED.amount, setup_fee = EXCLUDED.setup_fee`,
				p.ID, pr.Cycle, pr.Currency, pr.Amount, pr.SetupFee)
			if err != nil {
				return fmt.Errorf("upsert %s price of %s: %w", pr.Cycle, e.Product.Slug, err)
			}
		}
		return nil
	})
	return p, err
}

// CountProducts counts products that are neither hidden nor retired.
func (s *Store) CountProducts(ctx context.Context) (int, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM products WHERE NOT hidden AND NOT retired`); err != nil {
		return 0, fmt.Errorf("count products: %w", err)
	}
	return n, nil
}
