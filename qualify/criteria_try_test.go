package qualify_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"leadflow/qualify"
	"leadflow/store"
)

func TestTryCriteriaDecidesAndShowsTheValuesRead(t *testing.T) {
	t.Parallel()
	b := scoreSetup(t)
	lead := b.newLead(t, b.ws, func(l *store.Lead) { l.Score, l.Grade, l.Country = 20, "B", "US" })
	got, err := b.eng.TryCriteria(b.ctx, b.ws.ID, `score >= 15 && grade in ["A", "B"] && country == "US"`, lead.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	if !got.Qualifies || got.Lead.ID != lead.ID {
		t.Errorf("trial = qualifies %v for %s, want true for %s", got.Qualifies, got.Lead.ID, lead.ID)
	}
	if diff := cmp.Diff(map[string]any{"score": 20, "grade": "B", "country": "US"}, got.Values); diff != "" {
		t.Errorf("values read (-want +got):\n%s", diff)
	}
	if got, _ := b.eng.TryCriteria(b.ctx, b.ws.ID, `country == "FR"`, lead.ID.String()); got.Qualifies {
		t.Error(`country == "FR" qualifies a US lead`)
	}

	other := b.workspace(t, "other")
	for _, tt := range []struct {
		name, expression, lead string
		want                   map[string]string
	}{
		{"syntax", `score >= `, lead.ID.String(), map[string]string{"expression": "unexpected"}},
		{"empty", ` `, lead.ID.String(), map[string]string{"expression": "must not be empty"}},
		{"not an id", `score > 1`, "ada@example.com", map[string]string{"lead": "lead's ID"}},
		{"another workspace's lead", `score > 1`, b.newLead(t, other, nil).ID.String(), map[string]string{"lead": "no lead"}},
		// Run as qualification runs criteria: within the same budget.
		{"runaway", runaways[0], lead.ID.String(), map[string]string{"expression": "fails on this lead"}},
	} {
		_, err := b.eng.TryCriteria(b.ctx, b.ws.ID, tt.expression, tt.lead)
		verr, ok := errors.AsType[*qualify.ValidationError](err)
		if !ok {
			t.Errorf("%s: err = %v, want a ValidationError", tt.name, err)
			continue
		}
		got := map[string]string{}
		for field, msg := range verr.Fields {
			got[field] = msg
			if want := tt.want[field]; want != "" && strings.Contains(msg, want) {
				got[field] = want
			}
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: fields (-want +got):\n%s", tt.name, diff)
		}
	}
}
