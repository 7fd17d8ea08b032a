package storetest

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// Process is the test binary started again as another process, such as a
// worker a test can kill as a crash would. The package's TestMain runs it
// instead of the tests when the environment variable env holds its JSON
// configuration. The process tells the test how far it got by printing
// lines ("ready") on standard output.
type Process struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	out    bytes.Buffer
	wrote  chan struct{}
	exited chan struct{}
}

// StartProcess starts the test binary with env set to config as JSON (the
// process is killed when the test ends) and waits until it says "ready".
func StartProcess(t testing.TB, env string, config any) *Process {
	t.Helper()
	raw, err := json.Marshal(config)
	if err != nil {
		t.Fatal(err)
	}
	p := &Process{wrote: make(chan struct{}, 1), exited: make(chan struct{})}
	p.cmd = exec.Command(os.Args[0], "-test.run=^$")
	p.cmd.Env = append(os.Environ(), env+"="+string(raw))
	p.cmd.Stdout = p
	p.cmd.Stderr = os.Stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start test process: %v", err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(p.Kill)
	p.WaitFor(t, "ready", 30*time.Second)
	return p
}

// Write takes the process's standard output.
func (p *Process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.out.Write(b)
	select {
	case p.wrote <- struct{}{}:
	default:
	}
	return len(b), nil
}

// Said reports whether the process has printed line.
func (p *Process) Said(line string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Contains(p.out.String(), line+"\n")
}

// WaitFor waits until the process prints line, failing the test after
// timeout or if the process exits first.
func (p *Process) WaitFor(t testing.TB, line string, timeout time.Duration) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for !p.Said(line) {
		select {
		case <-p.wrote:
		case <-p.exited:
			if p.Said(line) {
				return
			}
			t.Fatalf("test process exited before printing %q", line)
		case <-deadline.C:
			t.Fatalf("test process did not print %q within %s", line, timeout)
		}
	}
}

// Kill ends the process at once, as a crash would (SIGKILL), and waits for
// it to be gone.
func (p *Process) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}
