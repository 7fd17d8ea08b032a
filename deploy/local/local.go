// Package local starts private PostgreSQL and Redis servers in a directory,
// listening on loopback only, for `leadflow dev` and the test suite.
//
// Each server is a child process that dies with its parent (Pdeathsig), so a
// killed dev session or test run leaves nothing behind. PostgreSQL refuses to
// run as root: when leadflow runs as root the cluster is owned by, and run as,
// the `postgres` system user.
package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is a running private server.
type Server struct {
	// URL connects to the server (postgres://... or redis://...).
	URL string
	// Port is the loopback TCP port it listens on.
	Port int

	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	stopSig os.Signal
	logPath string
	once    sync.Once
}

// Stop asks the server to shut down and waits for it (at most 30 s, then it
// is killed).
func (s *Server) Stop() error {
	var err error
	s.once.Do(func() {
		_ = s.cmd.Process.Signal(s.stopSig)
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
			err = errors.New("server did not stop in 30s: killed")
		}
	})
	return err
}

// Exited is closed when the server process has ended.
func (s *Server) Exited() <-chan struct{} { return s.done }

// PostgresOptions tune a private cluster.
type PostgresOptions struct {
	// Port to listen on; 0 picks a free one.
	Port int
	// Durable keeps fsync on; tests turn it off for speed.
	Durable bool
}

// StartPostgres initialises (once) and starts a PostgreSQL cluster in dir.
// The superuser is `leadflow` with a password kept in dir/password.
func StartPostgres(ctx context.Context, dir string, opts PostgresOptions) (*Server, error) {
	bin, err := postgresBinDir()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	cred, err := postgresCredential()
	if err != nil {
		return nil, err
	}
	if cred != nil {
		if err := searchableByOthers(filepath.Dir(dir)); err != nil {
			return nil, err
		}
	}
	password, err := secretFile(filepath.Join(dir, "password"))
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "pgdata")
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := initCluster(ctx, bin, dir, data, password, cred); err != nil {
			return nil, err
		}
	}
	port := opts.Port
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}
	args := []string{
		"-D", data,
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=" + data,
		"-c", "max_connections=300",
		"-c", "shared_buffers=128MB",
	}
	if !opts.Durable {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	srv := &Server{
		URL:     fmt.Sprintf("postgres://leadflow:%s@127.0.0.1:%d/postgres?sslmode=disable", password, port),
		Port:    port,
		stopSig: syscall.SIGINT, // fast shutdown
		logPath: filepath.Join(dir, "postgres.log"),
	}
	if err := srv.start(filepath.Join(bin, "postgres"), args, cred); err != nil {
		return nil, err
	}
	if err := srv.waitTCP(ctx, 60*time.Second); err != nil {
		_ = srv.Stop()
		return nil, fmt.Errorf("postgres did not start: %w (see %s)", err, srv.logPath)
	}
	// Listening is not ready: recovery may still be running.
	if err := srv.waitQuery(ctx, 60*time.Second); err != nil {
		_ = srv.Stop()
		return nil, fmt.Errorf("postgres did not become ready: %w (see %s)", err, srv.logPath)
	}
	return srv, nil
}

func (s *Server) waitQuery(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		err := func() error {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			conn, err := pgx.Connect(cctx, s.URL)
			if err != nil {
				return err
			}
			defer conn.Close(context.Background())
			_, err = conn.Exec(cctx, "SELECT 1")
			return err
		}()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-s.done:
			return fmt.Errorf("exited: %v", s.waitErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// RedisOptions tune a private Redis.
type RedisOptions struct {
	// Port to listen on; 0 picks a free one.
	Port int
	// Databases is the number of logical databases (tests give each test
	// its own); 0 means 16.
	Databases int
}

// ErrNoRedis is returned when no redis-server binary is installed.
var ErrNoRedis = errors.New("redis-server is not installed")

// StartRedis starts a private, password-protected, non-persistent Redis.
// Redis only carries work in leadflow, so nothing is saved to disk.
func StartRedis(ctx context.Context, dir string, opts RedisOptions) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, ErrNoRedis
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	password, err := secretFile(filepath.Join(dir, "redis-password"))
	if err != nil {
		return nil, err
	}
	port := opts.Port
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}
	dbs := opts.Databases
	if dbs == 0 {
		dbs = 16
	}
	// The config goes through stdin so the password is not in the process list.
	conf := fmt.Sprintf("port %d\nbind 127.0.0.1\nprotected-mode yes\nsave \"\"\nappendonly no\ndatabases %d\ndir %s\nrequirepass %s\n",
		port, dbs, dir, password)
	srv := &Server{
		URL:     fmt.Sprintf("redis://:%s@127.0.0.1:%d/0", password, port),
		Port:    port,
		stopSig: syscall.SIGTERM,
		logPath: filepath.Join(dir, "redis.log"),
	}
	if err := srv.startWithStdin(bin, []string{"-"}, nil, conf); err != nil {
		return nil, err
	}
	if err := srv.waitTCP(ctx, 30*time.Second); err != nil {
		_ = srv.Stop()
		return nil, fmt.Errorf("redis did not start: %w (see %s)", err, srv.logPath)
	}
	return srv, nil
}

func (s *Server) start(bin string, args []string, cred *syscall.Credential) error {
	return s.startWithStdin(bin, args, cred, "")
}

func (s *Server) startWithStdin(bin string, args []string, cred *syscall.Credential, stdin string) error {
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open server log: %w", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true, Credential: cred}
	// Pdeathsig fires when the creating thread exits, so pin it while starting.
	runtime.LockOSThread()
	err = cmd.Start()
	runtime.UnlockOSThread()
	if err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", filepath.Base(bin), err)
	}
	s.cmd = cmd
	s.done = make(chan struct{})
	go func() {
		s.waitErr = cmd.Wait()
		logf.Close()
		close(s.done)
	}()
	return nil
}

func (s *Server) waitTCP(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-s.done:
			return fmt.Errorf("exited: %v", s.waitErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not listening on %s after %s", addr, limit)
		}
	}
}

func initCluster(ctx context.Context, bin, dir, data, password string, cred *syscall.Credential) error {
	pwfile := filepath.Join(dir, "pwfile.tmp")
	if err := os.WriteFile(pwfile, []byte(password+"\n"), 0o600); err != nil {
		return err
	}
	defer os.Remove(pwfile)
	if cred != nil {
		if err := chownAll(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return err
		}
		if err := os.Chown(pwfile, int(cred.Uid), int(cred.Gid)); err != nil {
			return err
		}
	}
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"-D", data, "-U", "leadflow", "--pwfile", pwfile,
		"--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("initdb: %w: %s", err, strings.TrimSpace(out.String()))
	}
	return nil
}

// postgresCredential is the postgres system user when running as root, nil
// otherwise (the cluster then runs as the current user).
func postgresCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs the postgres system user (apt-get install postgresql): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// searchableByOthers checks that the postgres user can reach dir: every
// directory from the root down must be searchable by others.
func searchableByOthers(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("the postgres user cannot reach %s: %s is not searchable by others (chmod o+x %s, or choose another directory)", dir, d, d)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

func chownAll(dir string, uid, gid int) error {
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// postgresBinDir finds initdb and postgres: on PATH, or Debian's versioned
// directory (newest version first).
func postgresBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), "postgres")); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL server binaries not found (apt-get install postgresql)")
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// secretFile returns the secret stored at path, creating it on first use.
func secretFile(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	s := hex.EncodeToString(buf)
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return s, nil
}

// SecretFile returns a random secret kept at path, made on first use. The dev
// command keeps its generated signing key this way.
func SecretFile(path string) (string, error) { return secretFile(path) }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
