package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestComposeHeaderNamesItsSecrets checks deploy/compose.yaml's header tells
// how to create every secret file the stack mounts, and that its commands
// give the image's entrypoint (leadflow) only a subcommand.
func TestComposeHeaderNamesItsSecrets(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../deploy/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	var header strings.Builder
	for line := range strings.Lines(text) {
		if !strings.HasPrefix(line, "#") {
			break
		}
		header.WriteString(line)
	}
	// The top-level secrets block: "  name: {file: ./path}".
	top := text[strings.Index(text, "\nsecrets:\n")+1:]
	files := regexp.MustCompile(`(?m)^  ([a-z-]+): \{file: \./([a-z-]+)\}`).FindAllStringSubmatch(top, -1)
	if len(files) == 0 {
		t.Fatal("no secrets found in compose.yaml's secrets block")
	}
	for _, m := range files {
		if !strings.Contains(header.String(), "> deploy/"+m[2]+"\n") {
			t.Errorf("the header does not say how to create deploy/%s (secret %s)", m[2], m[1])
		}
	}
	// Every secret a service uses is declared.
	for _, m := range regexp.MustCompile(`secrets: \[([a-z, -]+)\]`).FindAllStringSubmatch(text, -1) {
		for name := range strings.SplitSeq(m[1], ",") {
			if !strings.Contains(top, "  "+strings.TrimSpace(name)+": {file:") {
				t.Errorf("secret %q is used but not declared", name)
			}
		}
	}
	for line := range strings.Lines(header.String()) {
		if strings.Contains(line, "docker compose") && strings.Contains(line, " run ") &&
			regexp.MustCompile(`run --rm \S+ leadflow `).MatchString(line) {
			t.Errorf("a one-off command repeats the entrypoint: %s", line)
		}
	}
}
