package httpapi

// Map turns each row into its wire type. A nil slice stays nil, so that a
// member that was null stays null.
func Map[R, T any](rows []R, wire func(R) T) []T {
	if rows == nil {
		return nil
	}
	out := make([]T, len(rows))
	for i, r := range rows {
		out[i] = wire(r)
	}
	return out
}

// MapPtr turns a row that may be absent into its wire type.
func MapPtr[R, T any](row *R, wire func(R) T) *T {
	if row == nil {
		return nil
	}
	w := wire(*row)
	return &w
}
