package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a leadflow process the suite runs (`serve` or `work`), started
// again under the same name, address and log after it is killed.
type child struct {
	name    string // the subcommand
	bin     string
	env     []string
	logPath string

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	// expected is set when the suite itself ends the process, so an exit
	// is not mistaken for a crash.
	expected bool
}

// start runs the process; its output is appended to its log. It dies with
// the suite (Pdeathsig), so even a killed suite leaves nothing behind.
func (c *child) start() error {
	logf, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open %s log: %w", c.name, err)
	}
	cmd := exec.Command(c.bin, c.name)
	cmd.Env = c.env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	// Pdeathsig fires when the creating thread exits, so pin it while starting.
	runtime.LockOSThread()
	err = cmd.Start()
	runtime.UnlockOSThread()
	if err != nil {
		logf.Close()
		return fmt.Errorf("start leadflow %s: %w", c.name, err)
	}
	done := make(chan struct{})
	c.mu.Lock()
	c.cmd, c.done, c.waitErr, c.expected = cmd, done, nil, false
	c.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logf.Close()
		c.mu.Lock()
		c.waitErr = err
		c.mu.Unlock()
		close(done)
	}()
	return nil
}

// pid is the running process's ID (0 when none was started).
func (c *child) pid() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return 0
	}
	return c.cmd.Process.Pid
}

// crashed reports whether the process ended without the suite ending it,
// and how.
func (c *child) crashed() (bool, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return false, ""
	}
	select {
	case <-c.done:
		if c.expected {
			return false, ""
		}
		return true, fmt.Sprint(c.waitErr)
	default:
		return false, ""
	}
}

// signal sends sig to the process by its ID and waits up to limit for it to
// end, then kills it.
func (c *child) signal(sig syscall.Signal, limit time.Duration) error {
	c.mu.Lock()
	cmd, done := c.cmd, c.done
	if cmd != nil {
		c.expected = true
	}
	c.mu.Unlock()
	if cmd == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	default:
	}
	if err := syscall.Kill(cmd.Process.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal leadflow %s (pid %d): %w", c.name, cmd.Process.Pid, err)
	}
	select {
	case <-done:
		return nil
	case <-time.After(limit):
	}
	_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
	<-done
	return fmt.Errorf("leadflow %s (pid %d) did not stop in %s: killed", c.name, cmd.Process.Pid, limit)
}

// kill9 is `kill -9`: no shutdown, nothing drained.
func (c *child) kill9() error { return c.signal(syscall.SIGKILL, 10*time.Second) }

// stop asks for an orderly shutdown (SIGTERM), at most limit long.
func (c *child) stop(limit time.Duration) error { return c.signal(syscall.SIGTERM, limit) }

// logSize is where the log ends now, so a wait can look only at what the
// next start writes.
func (c *child) logSize() int64 {
	fi, err := os.Stat(c.logPath)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// waitLog waits until the log, past offset, contains text, or the process
// ends, or limit passes.
func (c *child) waitLog(ctx context.Context, offset int64, text string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	c.mu.Lock()
	done := c.done
	c.mu.Unlock()
	for {
		if b, err := os.ReadFile(c.logPath); err == nil && int64(len(b)) > offset && bytes.Contains(b[offset:], []byte(text)) {
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("leadflow %s exited before %q (see %s)", c.name, text, c.logPath)
		case <-ctx.Done():
			return fmt.Errorf("leadflow %s: no %q in its log after %s (see %s)", c.name, text, limit, c.logPath)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitHTTP waits until GET url answers 200.
func waitHTTP(ctx context.Context, url string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %w", url, limit, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// buildLeadflow builds the binary from the module the suite runs in.
func buildLeadflow(ctx context.Context, out string) error {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("find the module: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	if strings.TrimSpace(string(gomod)) == "" || strings.TrimSpace(string(gomod)) == os.DevNull {
		return errors.New("run the fault suite from inside the leadflow module")
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/leadflow")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/leadflow: %w\n%s", err, b)
	}
	return nil
}

// leadflowOnce runs a short leadflow command (migrate, apikey) and returns
// its standard output.
func leadflowOnce(ctx context.Context, bin string, env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("leadflow %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// freeAddr is a loopback address with a port free now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}
