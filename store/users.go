package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Roles a user can hold. Staff roles reach /admin; customers reach /account only.
const (
	RoleAdmin    = "admin"
	RoleCustomer = "customer"
)

// User is a person who can log in: a customer or a member of staff.
type User struct {
	ID              int64        `db:"id"`
	Email           string       `db:"email"`
	EmailVerifiedAt sql.NullTime `db:"email_verified_at"`
	PasswordHash    string       `db:"password_hash"`
	Name            string       `db:"name"`
	Role            string       `db:"role"`
	Theme           string       `db:"theme"`
	CreatedAt       time.Time    `db:"created_at"`
	UpdatedAt       time.Time    `db:"updated_at"`
	// ClosedAt is set while staff have closed the account: it cannot log in.
	ClosedAt sql.NullTime `db:"closed_at"`
}

// Closed reports whether staff have closed the account.
func (u User) Closed() bool { return u.ClosedAt.Valid }

// Verified reports whether the user has confirmed their email address.
func (u User) Verified() bool { return u.EmailVerifiedAt.Valid }

// Staff reports whether the user may use the admin panel (what they may do there depends on
// the role: see StaffRoles).
func (u User) Staff() bool { return IsStaffRole(u.Role) }

// Profile is a customer's contact and billing address.
type Profile struct {
	UserID   int64  `db:"user_id"`
	Company  string `db:"company"`
	Phone    string `db:"phone"`
	Address1 string `db:"address1"`
	Address2 string `db:"address2"`
	City     string `db:"city"`
	State    string `db:"state"`
	Postcode string `db:"postcode"`
	Country  string `db:"country"`
}

// NewUser is what registration (or the seed) provides to create a user.
type NewUser struct {
	Email        string
	Name         string
	PasswordHash string
	Role         string
	Verified     bool
	Profile      Profile
}

// NormalizeEmail is the canonical form of an address for storage and lookup.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

const userColumns = `id, email, email_verified_at, password_hash, name, role, theme, created_at, updated_at, closed_at`

// CreateUser inserts a user and its profile in one transaction. A taken address returns ErrConflict.
func (s *Store) CreateUser(ctx context.Context, in NewUser) (User, error) {
	var u User
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var verifiedAt any
		if in.Verified {
			verifiedAt = time.Now()
		}
		err := tx.GetContext(ctx, &u, `
			INSERT INTO users (email, name, password_hash, role, email_verified_at)
			VALUES ($1, $2, $3, $4, $5)
			RETURNING `+userColumns,
			NormalizeEmail(in.Email), in.Name, in.PasswordHash, in.Role, verifiedAt)
		if isUniqueViolation(err) {
			return fmt.Errorf("create user %s: %w", NormalizeEmail(in.Email), ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		p := in.Profile
		p.UserID = u.ID
		_, err = tx.NamedExecContext(ctx, `
			INSERT INTO customer_profiles (user_id, company, phone, address1, address2, city, state, postcode, country)
			VALUES (:user_id, :company, :phone, :address1, :address2, :city, :state, :postcode, :country)`, p)
		if err != nil {
			return fmt.Errorf("create profile for user %d: %w", u.ID, err)
		}
		return nil
	})
	return u, err
}

// UserByID loads a user.
func (s *Store) UserByID(ctx context.Context, id int64) (User, error) {
	var u User
	err := s.db.GetContext(ctx, &u, `SELECT `+userColumns+` FROM users WHERE id = $1`, id)
	if err != nil {
		return User{}, notFound(err, fmt.Sprintf("user %d", id))
	}
	return u, nil
}

// UserByEmail loads a user by address, case-insensitively.
func (s *Store) UserByEmail(ctx context.Context, email string) (User, error) {
	var u User
	err := s.db.GetContext(ctx, &u, `SELECT `+userColumns+` FROM users WHERE email = $1`, NormalizeEmail(email))
	if err != nil {
		return User{}, notFound(err, "user by email")
	}
	return u, nil
}

// ProfileByUser loads a user's profile.
func (s *Store) ProfileByUser(ctx context.Context, userID int64) (Profile, error) {
	var p Profile
	err := s.db.GetContext(ctx, &p, `
		SELECT user_id, company, phone, address1, address2, city, state, postcode, country
		FROM customer_profiles WHERE user_id = $1`, userID)
	if err != nil {
		return Profile{}, notFound(err, fmt.Sprintf("profile of user %d", userID))
	}
	return p, nil
}

// UpdateProfile changes a user's display name and profile in one transaction.
func (s *Store) UpdateProfile(ctx context.Context, name string, p Profile) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET name = $2, updated_at = now() WHERE id = $1`, p.UserID, name)
		if err != nil {
			return fmt.Errorf("update name of user %d: %w", p.UserID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("update user %d: %w", p.UserID, ErrNotFound)
		}
		_, err = tx.NamedExecContext(ctx, `
			INSERT INTO customer_profiles (user_id, company, phone, address1, address2, city, state, postcode, country, updated_at)
			VALUES (:user_id, :company, :phone, :address1, :address2, :city, :state, :postcode, :country, now())
			ON CONFLICT (user_id) DO UPDATE SET company = EXCLUDED.company, phone = EXCLUDED.phone,
				address1 = EXCLUDED.address1, address2 = EXCLUDED.address2, city = EXCLUDED.city,
				state = EXCLUDED.state, postcode = EXCLUDED.postcode, country = EXCLUDED.country,
				updated_at = now()`, p)
		if err != nil {
			return fmt.Errorf("update profile of user %d: %w", p.UserID, err)
		}
		return nil
	})
}

// SetPassword replaces a user's password hash and ends every session except keepSession
// (pass nil to end them all), so a changed or reset password logs out other devices.
func (s *Store) SetPassword(ctx context.Context, userID int64, hash string, keepSession []byte) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1`, userID, hash)
		if err != nil {
			return fmt.Errorf("set password of user %d: %w", userID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("set password of user %d: %w", userID, ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1 AND ($2::bytea IS NULL OR id_hash <> $2)`, userID, keepSession); err != nil {
			return fmt.Errorf("end sessions of user %d: %w", userID, err)
		}
		return nil
	})
}

// SetTheme remembers the user's colour theme ("light" or "dark").
func (s *Store) SetTheme(ctx context.Context, userID int64, theme string) error {
	if theme != "light" && theme != "dark" {
		return fmt.Errorf("theme %q: want light or dark", theme)
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE users SET theme = $2 WHERE id = $1`, userID, theme); err != nil {
		return fmt.Errorf("set theme of user %d: %w", userID, err)
	}
	return nil
}

// MarkEmailVerified records that the user confirmed their address; it is a no-op when already verified.
func (s *Store) MarkEmailVerified(ctx context.Context, userID int64) error {
	_, err := s.db.ExecContext(ctx, `
		UPDATE users SET email_verified_at = now(), updated_at = now()
		WHERE id = $1 AND email_verified_at IS NULL`, userID)
	if err != nil {
		return fmt.Errorf("mark user %d verified: %w", userID, err)
	}
	return nil
}

// UserCounts are the figures on the admin dashboard.
type UserCounts struct {
	Customers  int `db:"customers"`
	Unverified int `db:"unverified"`
	Staff      int `db:"staff"`
}

// CountUsers counts customers, unverified customers and staff.
func (s *Store) CountUsers(ctx context.Context) (UserCounts, error) {
	var c UserCounts
	err := s.db.GetContext(ctx, &c, `
		SELECT count(*) FILTER (WHERE u.role = 'customer') AS customers,
		       count(*) FILTER (WHERE u.role = 'customer' AND u.email_verified_at IS NULL) AS unverified,
		       count(*) FILTER (WHERE r.staff) AS staff
		FROM users u JOIN roles r ON r.name = u.role`)
	if err != nil {
		return UserCounts{}, fmt.Errorf("count users: %w", err)
	}
	return c, nil
}
