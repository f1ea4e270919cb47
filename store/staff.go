package store

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jmoiron/sqlx"
)

// Staff roles beside RoleAdmin, the administrator. What each may do in the admin panel is
// decided in httpapi/roles.go; here they only mark who is staff.
const (
	RoleBilling = "billing"
	RoleSupport = "support"
)

// ErrLastAdmin is returned when a role change would leave the platform without an administrator.
var ErrLastAdmin = errors.New("the last administrator cannot be demoted")

// StaffRoles are the roles that reach the admin panel, the administrator first.
func StaffRoles() []string { return []string{RoleAdmin, RoleBilling, RoleSupport} }

// IsStaffRole reports whether role is one of StaffRoles.
func IsStaffRole(role string) bool { return slices.Contains(StaffRoles(), role) }

// ListStaff returns every member of staff by name.
func (s *Store) ListStaff(ctx context.Context) ([]User, error) {
	var out []User
	err := s.db.SelectContext(ctx, &out, `
		SELECT `+userColumns+` FROM users
		WHERE role IN (SELECT name FROM roles WHERE staff)
		ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("list staff: %w", err)
	}
	return out, nil
}

// CreateStaff adds a member of staff with a verified address. A role that is not a staff role is
// ErrInvalid; a taken address is ErrConflict.
func (s *Store) CreateStaff(ctx context.Context, in NewUser) (User, error) {
	if !IsStaffRole(in.Role) {
		return User{}, fmt.Errorf("create staff with role %q: %w", in.Role, ErrInvalid)
	}
	in.Verified = true
	return s.CreateUser(ctx, in)
}

// SetStaffRole changes a member of staff's role. A user who is not staff is ErrNotFound, a role
// that is not a staff role ErrInvalid, and demoting the only administrator ErrLastAdmin (nothing
// changes then). The administrators are locked first, so two administrators demoting each other
// at the same moment cannot both succeed.
func (s *Store) SetStaffRole(ctx context.Context, userID int64, role string) (User, error) {
	if !IsStaffRole(role) {
		return User{}, fmt.Errorf("set role of user %d to %q: %w", userID, role, ErrInvalid)
	}
	var u User
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var admins []int64
		if err := tx.SelectContext(ctx, &admins, `SELECT id FROM users WHERE role = $1 ORDER BY id FOR UPDATE`, RoleAdmin); err != nil {
			return fmt.Errorf("lock administrators: %w", err)
		}
		if err := tx.GetContext(ctx, &u, `SELECT `+userColumns+` FROM users WHERE id = $1 FOR UPDATE`, userID); err != nil {
			return notFound(err, fmt.Sprintf("user %d", userID))
		}
		if !u.Staff() {
			return fmt.Errorf("user %d is not staff: %w", userID, ErrNotFound)
		}
		if u.Role == role {
			return nil
		}
		if u.Role == RoleAdmin && len(admins) <= 1 {
			return fmt.Errorf("demote user %d: %w", userID, ErrLastAdmin)
		}
		err := tx.GetContext(ctx, &u, `UPDATE users SET role = $2, updated_at = now() WHERE id = $1 RETURNING `+userColumns, userID, role)
		if err != nil {
			return fmt.Errorf("set role of user %d: %w", userID, err)
		}
		return nil
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}
