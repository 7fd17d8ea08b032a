package main

import (
	"strings"
	"testing"
)

func TestConfigRedactsKeyValueDSN(t *testing.T) {
	t.Parallel()
	for _, dsn := range []string{
		"host=db.internal port=5432 user=leadflow password=s3cr3tpw dbname=leadflow sslmode=require",
		"host=db.internal password = 's3cr3tpw with spaces' dbname=leadflow",
		`host=db.internal password='it\'s s3cr3tpw' dbname=leadflow`,
		"password=s3cr3tpw",
		"host=db sslpassword=s3cr3tpw user=u",
		"postgres://leadflow:s3cr3tpw@db.internal:5432/leadflow?sslmode=require",
		"postgresql://leadflow:s3cr3tpw@db1:5432,db2:5432/leadflow",
		"postgres://db.internal/leadflow?user=leadflow&password=s3cr3tpw",
		"postgres://leadflow:s3cr3tpw@db.internal/leadflow?sslpassword=s3cr3tpw",
		"host=db password=s3cr3tpw unterminated='quote",
	} {
		s := Config{DatabaseURL: dsn}.String()
		if strings.Contains(s, "s3cr3tpw") {
			t.Errorf("Config.String() for %q shows the password:\n%s", dsn, s)
		}
		if !strings.Contains(s, "database=") || strings.Contains(s, "database=(unset)") {
			t.Errorf("Config.String() for %q lost the database setting:\n%s", dsn, s)
		}
	}
	// What is not secret stays readable, so an operator can tell which
	// server is meant.
	for dsn, want := range map[string]string{
		"host=db.internal user=leadflow password=s3cr3tpw dbname=crm": "host=db.internal user=leadflow password=xxxxx dbname=crm",
		"postgres://leadflow:s3cr3tpw@db.internal/crm":                "postgres://leadflow:xxxxx@db.internal/crm",
	} {
		if got := redactURL(dsn); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", dsn, got, want)
		}
	}
}
