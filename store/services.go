package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/ezscale/billing/billing"
)

// Service is one thing a customer has on a control panel.
type Service struct {
	ID             int64                 `db:"id"`
	CustomerID     int64                 `db:"customer_id"`
	ProductID      int64                 `db:"product_id"`
	PanelServerID  int64                 `db:"panel_server_id"`
	Status         billing.ServiceStatus `db:"status"`
	Hostname       string                `db:"hostname"`
	PanelServiceID string                `db:"panel_service_id"`
	PanelExtra     JSONMap               `db:"panel_extra"`
	IPv4           JSONList              `db:"ipv4"`
	IPv6           JSONList              `db:"ipv6"`
	PasswordSealed []byte                `db:"password_sealed"`
	Attention      string                `db:"attention"`
	CreatedBy      string                `db:"created_by"`
	CreatedAt      time.Time             `db:"created_at"`
	UpdatedAt      time.Time             `db:"updated_at"`
	ArchivedAt     sql.NullTime          `db:"archived_at"`
	// Read-model fields filled by list and detail queries.
	CustomerEmail string `db:"customer_email"`
	CustomerName  string `db:"customer_name"`
	ProductName   string `db:"product_name"`
	PanelName     string `db:"panel_name"`
	PanelType     string `db:"panel_type"`
	PanelBaseURL  string `db:"panel_base_url"` // the panel's configured URL; its single sign-on links share its origin
}

const serviceSelect = `
	SELECT s.id, s.customer_id, s.product_id, s.panel_server_id, s.status, s.hostname, s.panel_service_id,
	       s.panel_extra, s.ipv4, s.ipv6, s.password_sealed, s.attention, s.created_by, s.created_at, s.updated_at, s.archived_at,
	       u.email AS customer_email, u.name AS customer_name, p.name AS product_name,
	       ps.name AS panel_name, ps.type AS panel_type, ps.base_url AS panel_base_url
	FROM services s
	JOIN users u ON u.id = s.customer_id
	JOIN products p ON p.id = s.product_id
	JOIN panel_servers ps ON ps.id = s.panel_server_id`

// NewService is what creating a service needs.
type NewService struct {
	CustomerID    int64
	ProductID     int64
	PanelServerID int64
	Hostname      string
	CreatedBy     string // "admin:3", "billing:order:17"
}

// CreateService inserts a pending service and its first timeline entry in one transaction.
func (s *Store) CreateService(ctx context.Context, in NewService) (Service, error) {
	var id int64
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &id, `
			INSERT INTO services (customer_id, product_id, panel_server_id, hostname, created_by)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, in.CustomerID, in.ProductID, in.PanelServerID, in.Hostname, in.CreatedBy)
		if err != nil {
			return fmt.Errorf("create service for customer %d: %w", in.CustomerID, err)
		}
		return addEvent(ctx, tx, ServiceEvent{ServiceID: id, Kind: "created", Message: "service created", Actor: in.CreatedBy})
	})
	if err != nil {
		return Service{}, err
	}
	return s.ServiceByID(ctx, id)
}

// ServiceByID loads a service with its read-model fields.
func (s *Store) ServiceByID(ctx context.Context, id int64) (Service, error) {
	var out Service
	if err := s.db.GetContext(ctx, &out, serviceSelect+` WHERE s.id = $1`, id); err != nil {
		return Service{}, notFound(err, fmt.Sprintf("service %d", id))
	}
	return out, nil
}

// CustomerService loads a service only if it belongs to the customer; anyone else's is ErrNotFound.
func (s *Store) CustomerService(ctx context.Context, customerID, id int64) (Service, error) {
	var out Service
	if err := s.db.GetContext(ctx, &out, serviceSelect+` WHERE s.id = $1 AND s.customer_id = $2 AND s.archived_at IS NULL`, id, customerID); err != nil {
		return Service{}, notFound(err, fmt.Sprintf("service %d of customer %d", id, customerID))
	}
	return out, nil
}

// ServiceFilter narrows a service list.
type ServiceFilter struct {
	Status     billing.ServiceStatus // one status, or "" for all
	CustomerID int64                 // 0 for all customers
	Limit      int
}

// Services lists services, newest first.
func (s *Store) Services(ctx context.Context, f ServiceFilter) ([]Service, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	var out []Service
	err := s.db.SelectContext(ctx, &out, serviceSelect+`
		WHERE s.archived_at IS NULL AND ($1 = '' OR s.status = $1) AND ($2 = 0 OR s.customer_id = $2)
		ORDER BY s.created_at DESC, s.id DESC LIMIT $3`, f.Status, f.CustomerID, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	return out, nil
}

// CountServicesByStatus counts live services per status.
func (s *Store) CountServicesByStatus(ctx context.Context) (map[billing.ServiceStatus]int, error) {
	var rows []struct {
		Status billing.ServiceStatus `db:"status"`
		N      int                   `db:"n"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT status, count(*) AS n FROM services WHERE archived_at IS NULL GROUP BY status`); err != nil {
		return nil, fmt.Errorf("count services: %w", err)
	}
	out := map[billing.ServiceStatus]int{}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, nil
}

// SetServiceStatus records a status change and its timeline entry together.
func (s *Store) SetServiceStatus(ctx context.Context, id int64, status billing.ServiceStatus, attention string, e ServiceEvent) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE services SET status = $2, attention = $3, updated_at = now() WHERE id = $1`, id, status, attention)
		if err != nil {
			return fmt.Errorf("set service %d %s: %w", id, status, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("set service %d status: %w", id, ErrNotFound)
		}
		e.ServiceID = id
		return addEvent(ctx, tx, e)
	})
}

// SetServicePanelRef records which panel resource is the service's. Another service already
// holding that resource is ErrConflict: this is how two services never adopt the same server.
func (s *Store) SetServicePanelRef(ctx context.Context, id int64, panelServiceID string, extra map[string]string, e ServiceEvent) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE services SET panel_service_id = $2, panel_extra = $3, updated_at = now() WHERE id = $1`,
			id, panelServiceID, JSONMap(extra))
		if isUniqueViolation(err) {
			return fmt.Errorf("panel resource %s: %w", panelServiceID, ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("record panel resource of service %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("record panel resource: service %d: %w", id, ErrNotFound)
		}
		e.ServiceID = id
		return addEvent(ctx, tx, e)
	})
}

// SetServiceAccess saves what the panel reports about a built service: addresses and the
// (sealed) password. A nil password keeps the stored one.
func (s *Store) SetServiceAccess(ctx context.Context, id int64, hostname string, ipv4, ipv6 []string, passwordSealed []byte) error {
	_, err := s.db.ExecContext(ctx, `
		UPDATE services SET hostname = CASE WHEN $2 = '' THEN hostname ELSE $2 END, ipv4 = $3, ipv6 = $4,
			password_sealed = COALESCE($5, password_sealed), updated_at = now()
		WHERE id = $1`, id, hostname, JSONList(ipv4), JSONList(ipv6), passwordSealed)
	if err != nil {
		return fmt.Errorf("save access details of service %d: %w", id, err)
	}
	return nil
}

// SetServiceProduct moves a service to another product after a package change.
func (s *Store) SetServiceProduct(ctx context.Context, id, productID int64, e ServiceEvent) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE services SET product_id = $2, updated_at = now() WHERE id = $1`, id, productID); err != nil {
			return fmt.Errorf("set product of service %d: %w", id, err)
		}
		e.ServiceID = id
		return addEvent(ctx, tx, e)
	})
}

// ServiceEvent is one timeline entry of a service.
type ServiceEvent struct {
	ID         int64     `db:"id"`
	ServiceID  int64     `db:"service_id"`
	At         time.Time `db:"at"`
	Kind       string    `db:"kind"`
	Message    string    `db:"message"`
	Actor      string    `db:"actor"`
	WorkflowID string    `db:"workflow_id"`
}

// AddServiceEvent appends a timeline entry.
func (s *Store) AddServiceEvent(ctx context.Context, e ServiceEvent) error {
	return addEvent(ctx, s.db, e)
}

func addEvent(ctx context.Context, db sqlx.ExtContext, e ServiceEvent) error {
	_, err := sqlx.NamedExecContext(ctx, db, `
		INSERT INTO service_events (service_id, kind, message, actor, workflow_id)
		VALUES (:service_id, :kind, :message, :actor, :workflow_id)`, e)
	if err != nil {
		return fmt.Errorf("add %s event to service %d: %w", e.Kind, e.ServiceID, err)
	}
	return nil
}

// ServiceEvents returns a service's timeline, oldest first.
func (s *Store) ServiceEvents(ctx context.Context, serviceID int64) ([]ServiceEvent, error) {
	var out []ServiceEvent
	err := s.db.SelectContext(ctx, &out, `
		SELECT id, service_id, at, kind, message, actor, workflow_id FROM service_events
		WHERE service_id = $1 ORDER BY at, id`, serviceID)
	if err != nil {
		return nil, fmt.Errorf("timeline of service %d: %w", serviceID, err)
	}
	return out, nil
}

// PanelAccount is the panel user made for a customer on one panel instance.
type PanelAccount struct {
	PanelServerID int64   `db:"panel_server_id"`
	CustomerID    int64   `db:"customer_id"`
	AccountID     string  `db:"account_id"`
	Extra         JSONMap `db:"extra"`
}

// PanelAccountFor loads the customer's account on a panel instance.
func (s *Store) PanelAccountFor(ctx context.Context, panelServerID, customerID int64) (PanelAccount, error) {
	var a PanelAccount
	err := s.db.GetContext(ctx, &a, `
		SELECT panel_server_id, customer_id, account_id, extra FROM panel_accounts
		WHERE panel_server_id = $1 AND customer_id = $2`, panelServerID, customerID)
	if err != nil {
		return PanelAccount{}, notFound(err, fmt.Sprintf("account of customer %d on panel %d", customerID, panelServerID))
	}
	return a, nil
}

// SavePanelAccount records (or refreshes) the customer's account on a panel instance.
func (s *Store) SavePanelAccount(ctx context.Context, a PanelAccount) error {
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO panel_accounts (panel_server_id, customer_id, account_id, extra) VALUES ($1, $2, $3, $4)
		ON CONFLICT (panel_server_id, customer_id) DO UPDATE SET account_id = EXCLUDED.account_id, extra = EXCLUDED.extra`,
		a.PanelServerID, a.CustomerID, a.AccountID, a.Extra)
	if err != nil {
		return fmt.Errorf("save account of customer %d on panel %d: %w", a.CustomerID, a.PanelServerID, err)
	}
	return nil
}
