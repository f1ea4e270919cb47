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
	return jsonValue(m == nil, `{}`, map[string]string(m))
}

// Scan decodes a jsonb object; NULL is the empty map.
func (m *JSONMap) Scan(src any) error {
	out := map[string]string{}
	if err := scanJSON(src, &out, "JSONMap"); err != nil {
		return err
	}
	*m = out
	return nil
}

// JSONList is a string list stored as a jsonb array.
type JSONList []string

// Value encodes the list as JSON; nil is the empty array.
func (l JSONList) Value() (driver.Value, error) { return jsonValue(l == nil, `[]`, []string(l)) }

// Scan decodes a jsonb array.
func (l *JSONList) Scan(src any) error {
	var out []string
	if err := scanJSON(src, &out, "JSONList"); err != nil {
		return err
	}
	*l = out
	return nil
}

// jsonValue is the driver value of v as JSON, or empty when isNil.
func jsonValue(isNil bool, empty string, v any) (driver.Value, error) {
	if isNil {
		return []byte(empty), nil
	}
	return json.Marshal(v)
}

// scanJSON decodes a jsonb column into dst; NULL leaves dst as it is.
func scanJSON(src, dst any, typeName string) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		return nil
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		return fmt.Errorf("%s: cannot scan %T", typeName, src)
	}
	if err := json.Unmarshal(b, dst); err != nil {
		return fmt.Errorf("%s: %w", typeName, err)
	}
	return nil
}

// JSONCounts is a map of counters stored as a jsonb object, such as coupon code → cycles applied.
type JSONCounts map[string]int

// Value encodes the counters as JSON; nil is the empty object.
func (m JSONCounts) Value() (driver.Value, error) {
	return jsonValue(m == nil, `{}`, map[string]int(m))
}

// Scan decodes a jsonb object of counters.
func (m *JSONCounts) Scan(src any) error {
	out := map[string]int{}
	if err := scanJSON(src, &out, "JSONCounts"); err != nil {
		return err
	}
	*m = out
	return nil
}

// JSONIDs is a list of ids stored as a jsonb array.
type JSONIDs []int64

// Value encodes the ids as JSON; nil is the empty array.
func (l JSONIDs) Value() (driver.Value, error) { return jsonValue(l == nil, `[]`, []int64(l)) }

// Scan decodes a jsonb array of ids.
func (l *JSONIDs) Scan(src any) error {
	var out []int64
	if err := scanJSON(src, &out, "JSONIDs"); err != nil {
		return err
	}
	*l = out
	return nil
}

// JSONAmounts maps a currency to an amount in minor units, stored as a jsonb object.
type JSONAmounts map[string]int64

// Value encodes the amounts as JSON; nil is the empty object.
func (m JSONAmounts) Value() (driver.Value, error) {
	return jsonValue(m == nil, `{}`, map[string]int64(m))
}

// Scan decodes a jsonb object of amounts.
func (m *JSONAmounts) Scan(src any) error {
	out := map[string]int64{}
	if err := scanJSON(src, &out, "JSONAmounts"); err != nil {
		return err
	}
	*m = out
	return nil
}
