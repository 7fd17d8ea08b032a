package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"leadflow/store"
	"leadflow/store/storetest"
)

// cliImport runs `leadflow import` on a file holding data.
func cliImport(t *testing.T, dbURL, data string, args ...string) (string, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "booth.csv")
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	env := envFunc(map[string]string{"LEADFLOW_DATABASE_URL": dbURL})
	err := cmdImport(context.Background(), append(args, path), env, &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestImportCommandRefusesABadFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL := storetest.DatabaseURL(t)
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if _, err := st.EnsureWorkspace(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	_, err = cliImport(t, dbURL, "First Name,Company\nAna,Acme\n", "--workspace", "acme")
	if err == nil || !strings.Contains(err.Error(), "no column is mapped to email or phone") {
		t.Errorf("err = %v, want the missing email and phone columns named", err)
	}
	_, err = cliImport(t, dbURL, "Email\na@example.com\n", "--workspace", "nobody")
	if err == nil || !strings.Contains(err.Error(), `workspace "nobody": no such workspace`) {
		t.Errorf("unknown workspace: err = %v", err)
	}
	var n int
	if err := st.Pool.QueryRow(ctx, `SELECT count(*) FROM imports`).Scan(&n); err != nil || n != 0 {
		t.Errorf("imports = %d (%v), want none", n, err)
	}
}
