// Package storetest gives tests real, isolated PostgreSQL databases and
// Redis databases.
//
// The servers are the ones named by LEADFLOW_TEST_DATABASE_URL (a superuser
// connection to any database of the server, usually postgres) and
// LEADFLOW_TEST_REDIS_URL; when either is unset, a private server is started
// for the test binary and stopped by Main.
//
// Each test gets a database cloned from a template migrated once per schema
// version (CREATE DATABASE ... TEMPLATE), so tests run in parallel and commit
// for real; and a Redis logical database of its own, flushed before use.
package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"leadflow/deploy/local"
	"leadflow/store"
)

// redisDatabases is how many logical databases the private Redis has; the
// test script starts its Redis with the same number.
const redisDatabases = 4096

var (
	servers struct {
		sync.Mutex
		pgURL, redisURL string
		stops           []func() error
		tmp             string
	}
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// Main runs the package's tests, stops any private servers, and fails the run
// if goroutines leaked. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	servers.Lock()
	for _, stop := range servers.stops {
		_ = stop()
	}
	if servers.tmp != "" {
		os.RemoveAll(servers.tmp)
	}
	servers.Unlock()
	if code == 0 {
		if err := goleak.Find(ignoreLeaks()...); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

func ignoreLeaks() []goleak.Option {
	return []goleak.Option{
		// The pgx pool's background health check ends a moment after Close.
		goleak.IgnoreTopFunction("github.com/jackc/pgx/v5/pgxpool.(*Pool).backgroundHealthCheck"),
		goleak.IgnoreTopFunction("github.com/jackc/puddle/v2.(*Pool).Acquire"),
		// net/http's idle keep-alive connections of the test client.
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	}
}

func serverURLs(t testing.TB) (pgURL, redisURL string) {
	t.Helper()
	servers.Lock()
	defer servers.Unlock()
	if servers.pgURL == "" {
		servers.pgURL = os.Getenv("LEADFLOW_TEST_DATABASE_URL")
	}
	if servers.redisURL == "" {
		servers.redisURL = os.Getenv("LEADFLOW_TEST_REDIS_URL")
	}
	if servers.pgURL != "" && servers.redisURL != "" {
		return servers.pgURL, servers.redisURL
	}
	if servers.tmp == "" {
		dir, err := os.MkdirTemp("", "leadflow-test-")
		if err != nil {
			t.Fatalf("temp dir: %v", err)
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatalf("chmod: %v", err)
		}
		servers.tmp = dir
	}
	ctx := context.Background()
	if servers.pgURL == "" {
		pg, err := local.StartPostgres(ctx, servers.tmp+"/pg", local.PostgresOptions{})
		if err != nil {
			t.Fatalf("start private postgres (or set LEADFLOW_TEST_DATABASE_URL): %v", err)
		}
		servers.pgURL = pg.URL
		servers.stops = append(servers.stops, pg.Stop)
	}
	if servers.redisURL == "" {
		rd, err := local.StartRedis(ctx, servers.tmp+"/redis", local.RedisOptions{Databases: redisDatabases})
		if err != nil {
			t.Fatalf("start private redis (or set LEADFLOW_TEST_REDIS_URL): %v", err)
		}
		servers.redisURL = rd.URL
		servers.stops = append(servers.stops, rd.Stop)
	}
	return servers.pgURL, servers.redisURL
}

// DatabaseURL creates a fresh, migrated database for this test, dropped when
// the test ends, and returns its URL.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	adminURL, _ := serverURLs(t)
	templateOnce.Do(func() { templateName, templateErr = ensureTemplate(adminURL) })
	if templateErr != nil {
		t.Fatalf("test template database: %v", templateErr)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatalf("connect to test postgres: %v", err)
	}
	defer conn.Close(ctx)
	name := "lftest_" + strings.ReplaceAll(store.NewID().String(), "-", "")
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+templateName); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), adminURL)
		if err != nil {
			t.Errorf("drop test database: %v", err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return withDatabase(t, adminURL, name)
}

// NewStore returns a Store on a fresh, migrated database of its own.
func NewStore(t testing.TB) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), DatabaseURL(t))
	if err != nil {
		t.Fatalf("open test store: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// RedisURL gives this test a Redis logical database of its own, flushed, and
// returns its URL.
func RedisURL(t testing.TB) string {
	t.Helper()
	_, base := serverURLs(t)
	opts, err := redis.ParseURL(base)
	if err != nil {
		t.Fatalf("parse test redis url: %v", err)
	}
	ctx := context.Background()
	c := redis.NewClient(opts)
	defer c.Close()
	// Database 0 keeps the counter; tests take 1..N-1 in turn across every
	// test binary that shares the server.
	n, err := c.Incr(ctx, "leadflow:test:db").Result()
	if err != nil {
		t.Fatalf("allocate test redis database: %v", err)
	}
	db := int(1 + (n-1)%(redisDatabases-1))
	opts.DB = db
	c2 := redis.NewClient(opts)
	defer c2.Close()
	if err := c2.FlushDB(ctx).Err(); err != nil {
		t.Fatalf("flush test redis database %d (does the server have %d databases?): %v", db, redisDatabases, err)
	}
	u, _ := url.Parse(base)
	u.Path = fmt.Sprintf("/%d", db)
	return u.String()
}

// RedisOptions is RedisURL parsed into go-redis options.
func RedisOptions(t testing.TB) *redis.Options {
	t.Helper()
	opts, err := redis.ParseURL(RedisURL(t))
	if err != nil {
		t.Fatalf("parse redis url: %v", err)
	}
	return opts
}

// ensureTemplate makes (once per schema, across concurrent test binaries) a
// migrated template database named after the migrations' fingerprint.
func ensureTemplate(adminURL string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fp, err := fingerprint(store.Migrations())
	if err != nil {
		return "", err
	}
	name := "lftemplate_" + fp
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	// Serialise template creation between test binaries running at once.
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(4242001)"); err != nil {
		return "", err
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock(4242001)")
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	s, err := store.Open(ctx, withDatabaseURL(adminURL, name))
	if err != nil {
		return "", err
	}
	_, err = s.MigrateUp(ctx, nil)
	s.Close()
	if err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+name+" WITH IS_TEMPLATE true"); err != nil {
		return "", err
	}
	return name, nil
}

func fingerprint(fsys fs.FS) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("fingerprint migrations: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func withDatabase(t testing.TB, base, db string) string {
	t.Helper()
	return withDatabaseURL(base, db)
}

func withDatabaseURL(base, db string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	u.Path = "/" + db
	return u.String()
}
