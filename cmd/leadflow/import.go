package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"leadflow/capture"
	"leadflow/store"
)

// cmdImport is `import`: a CSV list read into an import and resolved in
// this process, row by row, through the same matching as a form's
// responses; no Redis is needed. Running it again on the same file resumes
// an import that was interrupted and otherwise prints the import as it is.
func cmdImport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	finish := configFlags(fs, getenv)
	workspace := fs.String("workspace", "", "workspace name")
	name := fs.String("name", "", "the import's name (default: the file's name)")
	kind := fs.String("kind", store.ImportKindLeads, "leads or contacts")
	campaign := fs.String("campaign", "", "the campaign the list answers")
	event := fs.String("event", "", "event ID: everyone on the list attended it")
	mapping := fs.String("mapping", "", `column mapping overrides as JSON, e.g. {"E-mail":"email","Notes":""}`)
	maxBytes := fs.Int64("max-bytes", capture.DefaultImportMaxBytes, "largest file accepted")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: leadflow import --workspace W [--name N] [--kind leads|contacts] [--event E] [--campaign C] [--mapping JSON] FILE")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	cfg, err := finish()
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	var errs []error
	if cfg.DatabaseURL == "" {
		errs = append(errs, errors.New("LEADFLOW_DATABASE_URL (or --database-url) is required"))
	}
	if strings.TrimSpace(*workspace) == "" {
		errs = append(errs, errors.New("--workspace is required"))
	}
	req := capture.ImportRequest{Name: *name, Kind: *kind, Campaign: *campaign, CreatedBy: "cli"}
	if *event != "" {
		id, err := store.ParseID(*event)
		if err != nil {
			errs = append(errs, fmt.Errorf("--event %q: want an event ID", *event))
		}
		req.EventID = &id
	}
	if *mapping != "" {
		if err := json.Unmarshal([]byte(*mapping), &req.Mapping); err != nil {
			errs = append(errs, fmt.Errorf("--mapping: want a JSON object of column header to field: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	path := fs.Arg(0)
	if req.Name == "" {
		req.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	ws, err := st.WorkspaceByName(ctx, *workspace)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("workspace %q: no such workspace", *workspace)
	}
	if err != nil {
		return err
	}
	req.WorkspaceID = ws.ID
	processor, err := capture.NewProcessor(capture.ProcessorConfig{Store: st})
	if err != nil {
		return err
	}
	importer, err := capture.NewImporter(capture.ImporterConfig{Store: st, Resolver: processor,
		Limits: capture.ImportLimits{MaxBytes: *maxBytes}})
	if err != nil {
		return err
	}
	im, created, err := importer.Create(ctx, req, file)
	if err != nil {
		return importError(err)
	}
	if !created {
		fmt.Fprintf(stderr, "this file was imported already as %s (%s)\n", im.ID, im.Name)
	}
	if im, err = importer.Run(ctx, ws.ID, im.ID); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "import %s %s: %d rows read, %d created, %d merged, %d linked to contacts, %d invalid\n",
		im.ID, im.State, im.RowsRead, im.RowsCreated, im.RowsMerged, im.RowsLinked, im.RowsInvalid)
	return nil
}

// importError spells out a refused file's field errors.
func importError(err error) error {
	var ve *capture.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	var parts []string
	for k, v := range ve.Fields {
		parts = append(parts, k+": "+v)
	}
	return fmt.Errorf("%w (%s)", err, strings.Join(parts, "; "))
}
