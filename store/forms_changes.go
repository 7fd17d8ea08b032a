package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// formChangedChannel is what the forms table's trigger notifies with the key
// of a form changed or deleted (migration 00009).
const formChangedChannel = "leadflow_form_changed"

// listenCheckEvery is how long a quiet listening connection waits before it
// makes sure the server is still there: a connection that died without a
// word would otherwise wait for notifications that never come.
const listenCheckEvery = 15 * time.Second

// ListenFormChanges tells changed the key of every form changed or deleted
// in the database, by any process or by hand ("" for every form), from the
// moment it calls ready until ctx ends (nil) or the connection fails (the
// error). It listens on a connection of its own, outside the pool.
func (s *Store) ListenFormChanges(ctx context.Context, ready func(), changed func(key string)) error {
	conn, err := pgx.ConnectConfig(ctx, s.Pool.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("listen for form changes: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+formChangedChannel); err != nil {
		return listenError(ctx, err)
	}
	ready()
	for {
		waitCtx, cancel := context.WithTimeout(ctx, listenCheckEvery)
		n, err := conn.WaitForNotification(waitCtx)
		cancel()
		switch {
		case err == nil:
			changed(n.Payload)
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, context.DeadlineExceeded):
			pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = conn.Ping(pingCtx)
			cancel()
			if err != nil {
				return listenError(ctx, err)
			}
		default:
			return listenError(ctx, err)
		}
	}
}

func listenError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("listen for form changes: %w", err)
}
