package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"leadflow/store"
)

// TestConsoleListsPageThroughEveryRow follows each list's "older" link
// from the first page to the last, as a person would: every row is shown
// once, and the filter in the query survives the paging.
func TestConsoleListsPageThroughEveryRow(t *testing.T) {
	t.Parallel()
	app := startRunApp(t)
	ctx := context.Background()
	const password = "correct horse battery"
	mia := app.person(t, "paging-ws", "mia@paging.test", store.UserMarketing, password)
	ws := mia.WorkspaceID
	form, err := app.st.InsertForm(ctx, store.Form{WorkspaceID: ws, Name: "Contact us", Kind: store.FormContactUs})
	if err != nil {
		t.Fatal(err)
	}
	// More than two pages of each, and one row of each the filter drops.
	const n = 2*store.DefaultPageLimit + 7
	var rs []store.Response
	for i := range n + 1 {
		status := store.LeadNew
		if i == n {
			status = store.LeadNurturing
		}
		// Some have an owner, whom the list names.
		var owner *uuid.UUID
		if i%10 == 0 {
			owner = &mia.ID
		}
		l, err := app.st.InsertLead(ctx, store.Lead{WorkspaceID: ws, Email: fmt.Sprintf("lead%03d@paging.test", i), Status: status, OwnerID: owner})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := app.st.InsertContact(ctx, store.Contact{WorkspaceID: ws, FirstName: "Contact", LastName: fmt.Sprintf("N%03d", i),
			Email: fmt.Sprintf("contact%03d@paging.test", i), EmailCanonical: fmt.Sprintf("contact%03d@paging.test", i)}); err != nil {
			t.Fatal(err)
		}
		verdict := store.VerdictSpam
		if i == n {
			verdict = store.VerdictOK
		}
		rs = append(rs, store.Response{ID: store.NewID(), WorkspaceID: ws, FormID: form.ID, LeadID: &l.ID,
			ReceivedAt: time.Now().Add(-time.Duration(i) * time.Second), Status: store.ResponseHeld, Verdict: verdict})
	}
	if err := app.st.InsertResponses(ctx, rs, nil); err != nil {
		t.Fatal(err)
	}

	h, _ := signInOverHTTP(t, app.base, "mia@paging.test", password, "/console/leads")
	for _, c := range []struct {
		list, first, rel string
		want             int
	}{
		{"leads", "/console/leads?status=" + store.LeadNew, "next", n},
		{"contacts", "/console/contacts", "next", n + 1},
		{"responses", "/console/responses?verdict=" + store.VerdictSpam, "next", n},
	} {
		t.Run(c.list, func(t *testing.T) {
			seen := map[string]bool{}
			pages, owners := 0, 0
			for path := c.first; path != ""; pages++ {
				if pages > 10 {
					t.Fatalf("still paging after %d pages, at %s", pages, path)
				}
				status, _, doc := h.get(path)
				if status != http.StatusOK {
					t.Fatalf("%s: status %d", path, status)
				}
				for _, row := range htmlFind(doc, htmlElement("tr", "", "")) {
					if row.Parent == nil || row.Parent.Data != "tbody" {
						continue
					}
					// A row of the list is its record's link (two responses
					// may read alike); rows of other tables link elsewhere.
					text := ""
					for _, a := range htmlFind(row, htmlElement("a", "", "")) {
						if href := htmlAttr(a, "href"); strings.HasPrefix(href, "/console/"+c.list+"/") {
							text = href
							break
						}
					}
					if text == "" {
						continue
					}
					if strings.Contains(htmlText(row), mia.Name) {
						owners++
					}
					if seen[text] {
						t.Errorf("%s shows %q again", path, text)
					}
					seen[text] = true
				}
				path = ""
				if next := htmlFind(doc, htmlElement("a", "rel", c.rel)); len(next) == 1 {
					path = htmlAttr(next[0], "href")
				}
			}
			if c.list == "leads" && owners != (n+9)/10 {
				t.Errorf("the leads list names their owner %d times, want %d", owners, (n+9)/10)
			}
			if len(seen) != c.want || pages != 3 {
				t.Errorf("%d rows over %d pages, want %d over 3", len(seen), pages, c.want)
			}
		})
	}
}
