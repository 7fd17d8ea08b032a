package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Sentinel errors: the only driver outcomes domains need to tell apart.
var (
	// ErrNotFound: the record does not exist in the caller's workspace.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a uniqueness rule was broken (a form key already taken...).
	ErrConflict = errors.New("conflict")
	// ErrInvalidReference: a record refers to another that does not exist in
	// the same workspace.
	ErrInvalidReference = errors.New("invalid reference")
	// ErrTimeout: the server cancelled a statement that ran past the
	// pool's statement timeout.
	ErrTimeout = errors.New("statement timeout")
)

// DBTX is what both a pool and a transaction can do; every query runs on it.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error)
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// Queries runs the store's queries on a pool or inside a transaction.
type Queries struct {
	db DBTX
}

// Store is the pool plus the queries bound to it.
type Store struct {
	*Queries
	Pool *pgxpool.Pool
}

// PoolConfig sizes and bounds one pool. A process keeps a pool per kind of
// work (form capture, the admin API, the workers), so one kind can never
// take every connection from another.
type PoolConfig struct {
	// Name is the pool's application_name, which pg_stat_activity shows.
	Name string
	// MaxConns caps the pool's connections (default pgx's, max(4, cores)).
	MaxConns int
	// StatementTimeout has the server cancel any statement of the pool that
	// runs longer (0: no limit). Such a statement fails with ErrTimeout.
	StatementTimeout time.Duration
}

// Open connects a pool to url and checks that the server answers.
func Open(ctx context.Context, url string) (*Store, error) {
	return OpenPool(ctx, url, PoolConfig{})
}

// OpenPool connects a pool sized and bounded by pc to url and checks that
// the server answers.
func OpenPool(ctx context.Context, url string, pc PoolConfig) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", redactURLError(err))
	}
	if pc.MaxConns < 0 || pc.StatementTimeout < 0 {
		return nil, errors.New("open pool: sizes and timeouts cannot be negative")
	}
	if pc.MaxConns > 0 {
		cfg.MaxConns = int32(pc.MaxConns)
	}
	if pc.Name != "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = pc.Name
	}
	if pc.StatementTimeout > 0 {
		// Set per connection at start-up, so it holds for every statement
		// without a round trip of its own.
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(max(1, pc.StatementTimeout.Milliseconds()), 10)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open pool: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	return New(pool), nil
}

// New wraps an existing pool.
func New(pool *pgxpool.Pool) *Store {
	return &Store{Queries: &Queries{db: pool}, Pool: pool}
}

// Close closes the pool.
func (s *Store) Close() { s.Pool.Close() }

// InTx runs fn in one transaction: committed when fn returns nil, rolled back
// otherwise.
func (s *Store) InTx(ctx context.Context, fn func(q *Queries) error) error {
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		return fn(&Queries{db: tx})
	})
}

// NewID returns a time-ordered (version 7) UUID, so IDs sort by creation and
// serve as stable pagination cursors.
func NewID() uuid.UUID {
	return uuid.Must(uuid.NewV7())
}

// interpret turns a driver error into a sentinel wrapped with what was being
// done. It returns nil for nil.
func interpret(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%s: %w (%s)", what, ErrConflict, pgErr.ConstraintName)
		case "23503": // foreign_key_violation
			return fmt.Errorf("%s: %w (%s)", what, ErrInvalidReference, pgErr.ConstraintName)
		case "22P02": // invalid_text_representation, e.g. a malformed uuid
			return fmt.Errorf("%s: %w", what, ErrNotFound)
		case "57014": // query_canceled: the statement timeout
			return fmt.Errorf("%s: %w", what, ErrTimeout)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// redactURLError keeps a URL parse error from echoing a password.
func redactURLError(err error) error {
	return errors.New("invalid connection string (" + errorKind(err) + ")")
}

func errorKind(err error) string {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return "cannot parse"
	}
	return "invalid"
}

// Unavailable reports whether err means PostgreSQL could not be reached or
// did not answer in time (a refused or broken connection, a server shutting
// down or out of connections, a timeout), so that the same request may
// succeed later; false for what the request itself got wrong (a missing
// row, a broken rule, a bad statement) and for a caller that gave up.
func Unavailable(err error) bool {
	switch {
	case err == nil, errors.Is(err, context.Canceled),
		errors.Is(err, ErrNotFound), errors.Is(err, ErrConflict), errors.Is(err, ErrInvalidReference):
		return false
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded), pgconn.Timeout(err):
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// The server answered; only these classes mean it cannot serve
		// now: connection exception, insufficient resources, operator
		// intervention (shutdown, statement cancelled).
		switch pgErr.Code[:2] {
		case "08", "53", "57":
			return true
		}
		return false
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, pgconn.ErrConnClosed) || pgconn.SafeToRetry(err)
}
