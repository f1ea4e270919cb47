package store

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
)

// JSONMap is a string map stored as a jsonb object.
type JSONMap map[string]string

// Value encodes the map as JSON; nil is the empty object.
func (m JSONMap) Value() (driver.Value, error) {
	if m == nil {
		return []byte(`{}`), nil
	}
	b, err := json.Marshal(map[string]string(m))
	return b, err
}

// Scan decodes a jsonb object.
func (m *JSONMap) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*m = JSONMap{}
		return nil
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		return fmt.Errorf("JSONMap: cannot scan %T", src)
	}
	out := map[string]string{}
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("JSONMap: %w", err)
	}
	*m = out
	return nil
}

// JSONList is a string list stored as a jsonb array.
type JSONList []string

// Value encodes the list as JSON; nil is the empty array.
func (l JSONList) Value() (driver.Value, error) {
	if l == nil {
		return []byte(`[]`), nil
	}
	return json.Marshal([]string(l))
}

// Scan decodes a jsonb array.
func (l *JSONList) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*l = nil
		return nil
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		return fmt.Errorf("JSONList: cannot scan %T", src)
	}
	var out []string
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("JSONList: %w", err)
	}
	*l = out
	return nil
}
