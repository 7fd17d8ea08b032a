package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"leadflow/store"
)

// cmdMigrate is `migrate up` and `migrate status`.
func cmdMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "up" && args[0] != "status") {
		fmt.Fprintln(stderr, "usage: leadflow migrate up|status [--database-url URL]")
		return errUsage
	}
	sub := args[0]
	fs := flag.NewFlagSet("migrate "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	finish := configFlags(fs, getenv)
	if err := fs.Parse(args[1:]); err != nil {
		return errUsage
	}
	cfg, err := finish()
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	if cfg.DatabaseURL == "" {
		return errors.New("LEADFLOW_DATABASE_URL (or --database-url) is required")
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if sub == "up" {
		applied, err := st.MigrateUp(ctx, nil)
		if err != nil {
			return err
		}
		if len(applied) == 0 {
			fmt.Fprintln(stdout, "schema is current: nothing to apply")
		}
		for _, v := range applied {
			fmt.Fprintf(stdout, "applied %05d\n", v)
		}
		return nil
	}
	statuses, err := st.MigrationStatuses(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tSTATE\tFILE")
	for _, m := range statuses {
		state := "pending"
		if m.Applied {
			state = "applied"
		}
		fmt.Fprintf(tw, "%05d\t%s\t%s\n", m.Version, state, m.Name)
	}
	return tw.Flush()
}
