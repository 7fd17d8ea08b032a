package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readmeMarker, alone on a line before a fenced sh block, makes the block one
// that TestReadmeWalkthroughs runs as written.
const readmeMarker = "<!-- readme-test -->"

// readmeBlock is a marked sh block of the README.
type readmeBlock struct {
	Heading string // the "## " section it is in
	Line    int    // the line of its opening fence, from 1
	Code    string
}

// readmeBlocks returns the README's marked sh blocks in order. A marker not
// followed by an sh fence, or a marked block left open, is an error: a
// walk-through that no longer runs must not pass by going unseen.
func readmeBlocks(readme string) ([]readmeBlock, error) {
	lines := strings.Split(readme, "\n")
	var (
		blocks  []readmeBlock
		heading string
		fence   bool // inside an unmarked fenced block
	)
	for i := 0; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], "\r")
		switch {
		case strings.HasPrefix(line, "```"):
			fence = !fence
		case fence:
		case strings.HasPrefix(line, "## "):
			heading = strings.TrimPrefix(line, "## ")
		case strings.TrimSpace(line) == readmeMarker:
			j := i + 1
			for j < len(lines) && strings.TrimSpace(lines[j]) == "" {
				j++
			}
			if j == len(lines) || strings.TrimRight(lines[j], "\r") != "```sh" {
				return nil, fmt.Errorf("README.md:%d: %s is not followed by a ```sh block", i+1, readmeMarker)
			}
			b := readmeBlock{Heading: heading, Line: j + 1}
			var code []string
			for j++; ; j++ {
				if j == len(lines) {
					return nil, fmt.Errorf("README.md:%d: the marked sh block is not closed", b.Line)
				}
				if strings.TrimRight(lines[j], "\r") == "```" {
					break
				}
				code = append(code, lines[j])
			}
			b.Code = strings.Join(code, "\n") + "\n"
			blocks = append(blocks, b)
			i = j
		}
	}
	return blocks, nil
}

// readmeWalkthroughs are the sections whose walk-throughs must run.
var readmeWalkthroughs = []string{"Try it", "From a form to an opportunity, in the demo"}

// readREADME returns the repository's README.md and its marked blocks,
// checking that each walk-through section has one.
func readREADME(t *testing.T) []readmeBlock {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := readmeBlocks(string(b))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range readmeWalkthroughs {
		found := false
		for _, bl := range blocks {
			found = found || bl.Heading == want
		}
		if !found {
			t.Errorf("README.md section %q has no %s sh block", want, readmeMarker)
		}
	}
	return blocks
}

func TestReadmeBlocks(t *testing.T) {
	t.Parallel()
	got, err := readmeBlocks("# x\n## One\ntext\n```sh\nunmarked\n## not a heading\n```\n" +
		readmeMarker + "\n\n```sh\necho one\n```\n## Two\n" + readmeMarker + "\n```sh\necho two\necho three\n```\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []readmeBlock{{Heading: "One", Line: 10, Code: "echo one\n"}, {Heading: "Two", Line: 15, Code: "echo two\necho three\n"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("blocks = %+v, want %+v", got, want)
	}
	for _, bad := range []string{
		readmeMarker + "\ntext\n```sh\necho\n```\n", // not a block
		readmeMarker + "\n```go\nfmt.Println()\n```\n",
		readmeMarker + "\n```sh\necho never closed\n",
		readmeMarker + "\n",
	} {
		if _, err := readmeBlocks(bad); err == nil {
			t.Errorf("readmeBlocks(%q) found no fault", bad)
		}
	}
	readREADME(t)
}

func FuzzReadmeBlocks(f *testing.F) {
	f.Add("## A\n" + readmeMarker + "\n```sh\necho a\n```\n")
	f.Add(readmeMarker + "\n```sh\n")
	f.Add("```\n" + readmeMarker + "\n```\n")
	f.Fuzz(func(t *testing.T, s string) {
		blocks, err := readmeBlocks(s)
		if err != nil {
			return
		}
		for _, b := range blocks {
			if b.Line < 1 || !strings.Contains(s, strings.TrimSuffix(b.Code, "\n")) {
				t.Fatalf("block %+v is not in the input", b)
			}
		}
	})
}

// TestReadmeWalkthroughs runs the README's marked sh blocks as written, each
// in its own bash with set -euo pipefail, in order, on one fresh `leadflow
// dev` as ./deploy/dev.sh starts it, from the directory that holds its
// .leadflow and with BASE set to its address. Then it checks through the API
// that the walk-throughs did what they say.
func TestReadmeWalkthroughs(t *testing.T) {
	t.Parallel()
	blocks := readREADME(t)
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README's walk-throughs need %s (deploy/setup-debian.sh installs it): %v", tool, err)
		}
	}
	// The private cluster runs as the postgres user, which must reach the
	// directory: t.TempDir() is private to root.
	root, err := os.MkdirTemp("", "leadflow-readme-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := startCommand(t, map[string]string{}, "dev", "--data-dir", filepath.Join(root, ".leadflow"), "--addr", "127.0.0.1:0")
	var base string
	waitFor(t, "the dev banner", 90*time.Second, func() bool {
		if m := bannerURL.FindStringSubmatch(cmd.stdout.String()); cmd.running(t) && m != nil {
			base = m[1]
			return true
		}
		return false
	})

	outputs := make([]string, len(blocks))
	for i, b := range blocks {
		outputs[i] = runReadmeBlock(t, root, base, b)
	}

	// What the walk-throughs say happened, seen through the API.
	key, err := os.ReadFile(filepath.Join(root, ".leadflow", "api-key"))
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string, out any) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(key)))
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		body, _ := io.ReadAll(r.Body)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, r.StatusCode, body)
		}
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("GET %s: %v in %s", path, err, body)
		}
	}
	type leads struct {
		Items []struct {
			Status string `json:"status"`
		} `json:"items"`
	}
	for email, want := range map[string]string{"ada@example.com": "marketing_qualified", "mary@somerville.example": "converted"} {
		var l leads
		get("/api/v1/leads?email="+email, &l)
		if len(l.Items) != 1 || l.Items[0].Status != want {
			t.Errorf("leads of %s = %+v, want one, %s", email, l.Items, want)
		}
	}
	var opps struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}
	get("/api/v1/opportunities", &opps)
	var names []string
	for _, o := range opps.Items {
		names = append(names, o.Name)
	}
	if len(names) != 2 || !strings.Contains(strings.Join(names, "|"), "Difference pilot") {
		t.Errorf("opportunities = %q, want Mary's and the Difference pilot", names)
	}
	if last := outputs[len(outputs)-1]; !strings.Contains(last, "302 https://example.com/pricing") {
		t.Errorf("the click in the last walk-through did not lead to the pricing page:\n%s", last)
	}
}

// runReadmeBlock runs one block with bash in dir and returns its output; a
// failure, or a block still running after three minutes, fails the test
// with the block and what it printed.
func runReadmeBlock(t *testing.T, dir, base string, b readmeBlock) string {
	t.Helper()
	script := filepath.Join(t.TempDir(), "block.sh")
	if err := os.WriteFile(script, []byte("set -euo pipefail\n"+b.Code), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, "bash", script)
	c.Dir = dir
	c.Env = append(os.Environ(), "BASE="+base)
	c.WaitDelay = 5 * time.Second
	out, err := c.CombinedOutput()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("still running after 3m: %w", err)
	}
	if err != nil {
		t.Fatalf("README.md:%d (%s): %v\n--- block\n%s--- output\n%s", b.Line, b.Heading, err, b.Code, out)
	}
	t.Logf("README.md:%d (%s):\n%s", b.Line, b.Heading, out)
	return string(out)
}
