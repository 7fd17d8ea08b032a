// Command leadflow is the single leadflow binary: the HTTP server, the
// workers, migrations, a self-contained dev mode and admin commands.
//
// main only sets up signals and calls run; run parses configuration once and
// builds every dependency in order, so the whole program can be driven from a
// test.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "leadflow:", err)
		os.Exit(1)
	}
}

// errUsage means the usage has been printed; main exits 2 without more words.
var errUsage = errors.New("usage")

const usage = `leadflow: web-to-lead capture and nurture

Usage:
  leadflow [run]            serve HTTP and run the workers (the default)
  leadflow serve            serve HTTP only (capture, tracking, admin API)
  leadflow work             run the workers and sweepers only
  leadflow migrate up       apply pending database migrations
  leadflow migrate status   list migrations and whether they are applied
  leadflow dev              everything on private local services, with a demo workspace
  leadflow bench [--leads N] [--duration D] [--enrolments N]
                            measure form posts, resolution, email and scheduling end to end
                            on private PostgreSQL, Redis and SMTP; prints a Markdown table
  leadflow apikey create --workspace NAME --role admin|marketing|sales
                            create an API key (and the workspace if missing); prints the key
  leadflow apikey list --workspace NAME
                            list the workspace's API keys (never the keys themselves)
  leadflow apikey revoke --workspace NAME KEY_ID
                            revoke a key: the next request made with it is refused
  leadflow user create --workspace NAME --email EMAIL --role ROLE [--name NAME] [--password-stdin]
                            create a person who signs in to the console (roles: admin, marketing,
                            sales_rep, sales_manager, sales_admin); without a password, prints a
                            one-time sign-in link
  leadflow import --workspace NAME [--name N] [--kind leads|contacts] [--event ID] FILE
                            import a CSV list (a booth's scans, an event's attendees) and
                            resolve its rows to leads in this process
  leadflow version          print the version (also: leadflow --version)

Run 'leadflow COMMAND -h' for a command's flags. Configuration comes from
LEADFLOW_* environment variables (see the README); flags override them.
`

// run dispatches to a subcommand. Logs go to stderr; what a command prints
// for people or scripts (a key, a status table) goes to stdout.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	name := "run"
	if len(args) > 0 && (!strings.HasPrefix(args[0], "-") || args[0] == "--version" || args[0] == "-version") {
		name, args = args[0], args[1:]
	}
	switch name {
	case "run":
		return cmdRun(ctx, args, getenv, stderr, true, true)
	case "serve":
		return cmdRun(ctx, args, getenv, stderr, true, false)
	case "work":
		return cmdRun(ctx, args, getenv, stderr, false, true)
	case "migrate":
		return cmdMigrate(ctx, args, getenv, stdout, stderr)
	case "dev":
		return cmdDev(ctx, args, getenv, stdout, stderr)
	case "bench":
		return cmdBench(ctx, args, getenv, stdout, stderr)
	case "apikey":
		return cmdAPIKey(ctx, args, getenv, stdout, stderr)
	case "user":
		return cmdUser(ctx, args, getenv, os.Stdin, stdout, stderr)
	case "import":
		return cmdImport(ctx, args, getenv, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", name, usage)
		return errUsage
	}
}
