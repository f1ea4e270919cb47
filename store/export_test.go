package store_test

import "database/sql"

func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: true} }
