package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
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

// ErrInvalid means a value breaks a catalog rule that the caller should have checked first.
var ErrInvalid = errors.New("invalid")

// ProductTypes are the kinds of product the catalog sells, as the products table allows them.
var ProductTypes = []string{"vps", "dedicated", "web_hosting", "game_server"}

// Cycles are the billing cycles a price may have, shortest first.
var Cycles = []string{"monthly", "quarterly", "semiannual", "annual", "biennial", "triennial", "onetime"}

var (
	slugPattern     = regexp.MustCompile(`^[a-z0-9-]+$`)
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
	fieldKeyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// OrderField is one question the order form asks for a product, such as the hostname or the
// OS template. Kind is "text" or "select"; a select offers Options.
type OrderField struct {
	Key      string   `json:"key"`
	Label    string   `json:"label"`
	Required bool     `json:"required"`
	Kind     string   `json:"kind"`
	Options  []string `json:"options,omitempty"`
}

// OrderFields is a product's order form questions, stored as a jsonb array.
type OrderFields []OrderField

// Value encodes the list as JSON; nil is the empty array.
func (f OrderFields) Value() (driver.Value, error) {
	return jsonValue(f == nil, `[]`, []OrderField(f))
}

// Scan decodes a jsonb array.
func (f *OrderFields) Scan(src any) error {
	var out []OrderField
	if err := scanJSON(src, &out, "OrderFields"); err != nil {
		return err
	}
	*f = out
	return nil
}

// Validate checks keys are unique identifiers, labels are set and selects have options.
func (f OrderFields) Validate() error {
	seen := map[string]bool{}
	for _, o := range f {
		switch {
		case !fieldKeyPattern.MatchString(o.Key):
			return fmt.Errorf("order field key %q: lower-case letters, digits and _: %w", o.Key, ErrInvalid)
		case seen[o.Key]:
			return fmt.Errorf("order field key %q twice: %w", o.Key, ErrInvalid)
		case strings.TrimSpace(o.Label) == "":
			return fmt.Errorf("order field %q has no label: %w", o.Key, ErrInvalid)
		case o.Kind != "text" && o.Kind != "select":
			return fmt.Errorf("order field %q kind %q, want text or select: %w", o.Key, o.Kind, ErrInvalid)
		case o.Kind == "select" && len(o.Options) == 0:
			return fmt.Errorf("order field %q is a select without options: %w", o.Key, ErrInvalid)
		}
		seen[o.Key] = true
	}
	return nil
}

// CatalogProduct is a product with what staff set on the catalog pages: its stock limit,
// order fields and, when saving, its prices.
type CatalogProduct struct {
	Product
	// StockLimit is the most live (not terminated or abandoned) services of the product; NULL is no limit.
	StockLimit  sql.NullInt64 `db:"stock_limit"`
	OrderFields OrderFields   `db:"order_fields"`
	// Prices replace the product's prices on CreateProduct and UpdateProduct; nil keeps them.
	Prices []Price `db:"-"`
}

const catalogProductColumns = productColumns + `, stock_limit, order_fields`

func (p CatalogProduct) validate() error {
	switch {
	case !slugPattern.MatchString(p.Slug):
		return fmt.Errorf("product slug %q: %w", p.Slug, ErrInvalid)
	case strings.TrimSpace(p.Name) == "":
		return fmt.Errorf("product %s has no name: %w", p.Slug, ErrInvalid)
	case !slices.Contains(ProductTypes, p.Type):
		return fmt.Errorf("product %s type %q: %w", p.Slug, p.Type, ErrInvalid)
	case p.StockLimit.Valid && p.StockLimit.Int64 < 0:
		return fmt.Errorf("product %s stock limit %d: %w", p.Slug, p.StockLimit.Int64, ErrInvalid)
	}
	if err := p.OrderFields.Validate(); err != nil {
		return fmt.Errorf("product %s: %w", p.Slug, err)
	}
	return validatePrices(p.Prices)
}

// validatePrices checks every price before any is written: amounts in minor units ≥ 0, an ISO
// currency code, a known cycle, and one price per cycle and currency.
func validatePrices(prices []Price) error {
	seen := map[[2]string]bool{}
	for _, pr := range prices {
		switch {
		case !slices.Contains(Cycles, pr.Cycle):
			return fmt.Errorf("price cycle %q: %w", pr.Cycle, ErrInvalid)
		case !currencyPattern.MatchString(pr.Currency):
			return fmt.Errorf("price currency %q: %w", pr.Currency, ErrInvalid)
		case pr.Amount < 0 || pr.SetupFee < 0:
			return fmt.Errorf("%s %s price %d setup %d is negative: %w", pr.Cycle, pr.Currency, pr.Amount, pr.SetupFee, ErrInvalid)
		case seen[[2]string{pr.Cycle, pr.Currency}]:
			return fmt.Errorf("two %s prices in %s: %w", pr.Cycle, pr.Currency, ErrInvalid)
		}
		seen[[2]string{pr.Cycle, pr.Currency}] = true
	}
	return nil
}

// ProductGroups lists the catalog's groups in display order.
func (s *Store) ProductGroups(ctx context.Context) ([]ProductGroup, error) {
	var out []ProductGroup
	if err := s.db.SelectContext(ctx, &out, `SELECT id, slug, name, description, sort FROM product_groups ORDER BY sort, id`); err != nil {
		return nil, fmt.Errorf("list product groups: %w", err)
	}
	return out, nil
}

// ProductGroupByID loads a product group.
func (s *Store) ProductGroupByID(ctx context.Context, id int64) (ProductGroup, error) {
	var g ProductGroup
	if err := s.db.GetContext(ctx, &g, `SELECT id, slug, name, description, sort FROM product_groups WHERE id = $1`, id); err != nil {
		return ProductGroup{}, notFound(err, fmt.Sprintf("product group %d", id))
	}
	return g, nil
}

func (g ProductGroup) validate() error {
	if !slugPattern.MatchString(g.Slug) || strings.TrimSpace(g.Name) == "" {
		return fmt.Errorf("product group %q (%q): %w", g.Slug, g.Name, ErrInvalid)
	}
	return nil
}

// CreateProductGroup adds a group; a taken slug is ErrConflict.
func (s *Store) CreateProductGroup(ctx context.Context, g ProductGroup) (ProductGroup, error) {
	if err := g.validate(); err != nil {
		return ProductGroup{}, err
	}
	var out ProductGroup
	err := s.db.GetContext(ctx, &out, `
		INSERT INTO product_groups (slug, name, description, sort) VALUES ($1, $2, $3, $4)
		RETURNING id, slug, name, description, sort`, g.Slug, g.Name, g.Description, g.Sort)
	if isUniqueViolation(err) {
		return ProductGroup{}, fmt.Errorf("product group %s: %w", g.Slug, ErrConflict)
	}
	if err != nil {
		return ProductGroup{}, fmt.Errorf("create product group %s: %w", g.Slug, err)
	}
	return out, nil
}

// UpdateProductGroup changes a group's slug, name, description and sort; a taken slug is ErrConflict.
func (s *Store) UpdateProductGroup(ctx context.Context, g ProductGroup) error {
	if err := g.validate(); err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `
		UPDATE product_groups SET slug = $2, name = $3, description = $4, sort = $5 WHERE id = $1`,
		g.ID, g.Slug, g.Name, g.Description, g.Sort)
	if isUniqueViolation(err) {
		return fmt.Errorf("product group %s: %w", g.Slug, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("update product group %d: %w", g.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("update product group %d: %w", g.ID, ErrNotFound)
	}
	return nil
}

// CatalogProductByID loads a product with its stock limit, order fields and prices.
func (s *Store) CatalogProductByID(ctx context.Context, id int64) (CatalogProduct, error) {
	var p CatalogProduct
	if err := s.db.GetContext(ctx, &p, `SELECT `+catalogProductColumns+` FROM products WHERE id = $1`, id); err != nil {
		return CatalogProduct{}, notFound(err, fmt.Sprintf("product %d", id))
	}
	prices, err := s.ProductPrices(ctx, id)
	if err != nil {
		return CatalogProduct{}, err
	}
	p.Prices = prices
	return p, nil
}

// CreateProduct adds a product and its prices in one transaction; a taken slug is ErrConflict
// and an invalid price saves nothing.
func (s *Store) CreateProduct(ctx context.Context, p CatalogProduct) (CatalogProduct, error) {
	if err := p.validate(); err != nil {
		return CatalogProduct{}, err
	}
	var out CatalogProduct
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &out, `
			INSERT INTO products (group_id, slug, name, type, description, hidden, retired, sort, stock_limit, order_fields)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			RETURNING `+catalogProductColumns,
			p.GroupID, p.Slug, p.Name, p.Type, p.Description, p.Hidden, p.Retired, p.Sort, p.StockLimit, p.OrderFields)
		if isUniqueViolation(err) {
			return fmt.Errorf("product %s: %w", p.Slug, ErrConflict)
		}
		if isMissingGroup(err) {
			return fmt.Errorf("product %s group %d: %w", p.Slug, p.GroupID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("create product %s: %w", p.Slug, err)
		}
		return replacePrices(ctx, tx, out.ID, p.Prices)
	})
	if err != nil {
		return CatalogProduct{}, err
	}
	out.Prices = p.Prices
	return out, nil
}

// UpdateProduct changes a product's catalog fields and, unless p.Prices is nil, replaces its
// prices, all in one transaction. The panel mapping is left alone (SetProductPanel owns it).
func (s *Store) UpdateProduct(ctx context.Context, p CatalogProduct) error {
	if err := p.validate(); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE products SET group_id = $2, slug = $3, name = $4, type = $5, description = $6, hidden = $7,
				retired = $8, sort = $9, stock_limit = $10, order_fields = $11
			WHERE id = $1`,
			p.ID, p.GroupID, p.Slug, p.Name, p.Type, p.Description, p.Hidden, p.Retired, p.Sort, p.StockLimit, p.OrderFields)
		if isUniqueViolation(err) {
			return fmt.Errorf("product %s: %w", p.Slug, ErrConflict)
		}
		if isMissingGroup(err) {
			return fmt.Errorf("product %s group %d: %w", p.Slug, p.GroupID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("update product %d: %w", p.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("update product %d: %w", p.ID, ErrNotFound)
		}
		if p.Prices == nil {
			return nil
		}
		return replacePrices(ctx, tx, p.ID, p.Prices)
	})
}

// SetProductPrices replaces a product's prices in one transaction: either every price is
// valid and the list is exactly prices afterwards, or nothing changes.
func (s *Store) SetProductPrices(ctx context.Context, productID int64, prices []Price) error {
	if err := validatePrices(prices); err != nil {
		return fmt.Errorf("prices of product %d: %w", productID, err)
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		var id int64
		if err := tx.GetContext(ctx, &id, `SELECT id FROM products WHERE id = $1 FOR UPDATE`, productID); err != nil {
			return notFound(err, fmt.Sprintf("product %d", productID))
		}
		return replacePrices(ctx, tx, productID, prices)
	})
}

func replacePrices(ctx context.Context, tx *sqlx.Tx, productID int64, prices []Price) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM product_prices WHERE product_id = $1`, productID); err != nil {
		return fmt.Errorf("clear prices of product %d: %w", productID, err)
	}
	for _, pr := range prices {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO product_prices (product_id, cycle, currency, amount, setup_fee) VALUES ($1, $2, $3, $4, $5)`,
			productID, pr.Cycle, pr.Currency, pr.Amount, pr.SetupFee)
		if err != nil {
			return fmt.Errorf("set %s %s price of product %d: %w", pr.Cycle, pr.Currency, productID, err)
		}
	}
	return nil
}

// ProductPrices lists a product's prices by currency, then cycle from shortest to longest.
func (s *Store) ProductPrices(ctx context.Context, productID int64) ([]Price, error) {
	all, err := s.selectPrices(ctx, `WHERE product_id = $1`, productID)
	if err != nil {
		return nil, fmt.Errorf("prices of product %d: %w", productID, err)
	}
	return all, nil
}

// CatalogPrices lists every product's prices keyed by product id, ordered as ProductPrices.
func (s *Store) CatalogPrices(ctx context.Context) (map[int64][]Price, error) {
	all, err := s.selectPrices(ctx, ``)
	if err != nil {
		return nil, fmt.Errorf("catalog prices: %w", err)
	}
	out := map[int64][]Price{}
	for _, pr := range all {
		out[pr.ProductID] = append(out[pr.ProductID], pr)
	}
	return out, nil
}

func (s *Store) selectPrices(ctx context.Context, where string, args ...any) ([]Price, error) {
	var out []Price
	err := s.db.SelectContext(ctx, &out, `
		SELECT product_id, cycle, currency, amount, setup_fee FROM product_prices `+where+`
		ORDER BY product_id, currency, array_position(ARRAY['`+strings.Join(Cycles, "','")+`'], cycle)`, args...)
	return out, err
}

// isMissingGroup reports whether err is PostgreSQL's foreign_key_violation (23503): on
// products, the group does not exist.
func isMissingGroup(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23503"
}

// CatalogProducts lists every product with its stock limit and order fields (not its prices;
// see CatalogPrices) in catalog order.
func (s *Store) CatalogProducts(ctx context.Context) ([]CatalogProduct, error) {
	var out []CatalogProduct
	err := s.db.SelectContext(ctx, &out, `
		SELECT p.id, p.group_id, p.slug, p.name, p.type, p.description, p.hidden, p.retired, p.sort,
		       p.panel_type, p.panel_plan_id, p.panel_options, p.stock_limit, p.order_fields
		FROM products p JOIN product_groups g ON g.id = p.group_id ORDER BY g.sort, p.sort, p.id`)
	if err != nil {
		return nil, fmt.Errorf("list catalog products: %w", err)
	}
	return out, nil
}
