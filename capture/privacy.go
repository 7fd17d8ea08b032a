package capture

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// PersonExport is everything leadflow holds about the person of a lead, as
// one document: each section is a table family's rows as stored, so the
// export cannot silently leave out a column added later. Only admin keys
// may read it: it holds more than any one role's view of a lead.
type PersonExport struct {
	LeadID uuid.UUID `json:"lead_id"`
	// LeadIDs are the lead and every lead merged into it.
	LeadIDs    []uuid.UUID `json:"lead_ids"`
	ExportedAt time.Time   `json:"exported_at"`
	// RowLimit is the most rows a section holds; a section with more says
	// truncated.
	RowLimit int                      `json:"row_limit"`
	Sections map[string]ExportSection `json:"sections"`
}

// ExportSection is one table family of an export.
type ExportSection struct {
	Rows      []json.RawMessage `json:"rows"`
	Truncated bool              `json:"truncated"`
}

func newPersonExport(leadID uuid.UUID, e store.PersonExport, at time.Time) PersonExport {
	out := PersonExport{
		LeadID: leadID, LeadIDs: e.LeadIDs, ExportedAt: at, RowLimit: store.ExportSectionLimit,
		Sections: make(map[string]ExportSection, len(e.Sections)),
	}
	for _, s := range e.Sections {
		rows := s.Rows
		if rows == nil {
			rows = []json.RawMessage{}
		}
		out.Sections[s.Name] = ExportSection{Rows: rows, Truncated: s.Truncated}
	}
	return out
}

// exportLead answers everything held about the lead's person, as a download.
func (a *API) exportLead(c echo.Context) error {
	p, id, err := httpapi.Record(c)
	if err != nil {
		return err
	}
	e, err := a.store.ExportPerson(c.Request().Context(), p.WorkspaceID, id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="lead-%s.json"`, id))
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, newPersonExport(id, e, time.Now().UTC()))
}

// Erasure is how the API shows what erasing a person did.
type Erasure struct {
	LeadID uuid.UUID `json:"lead_id"`
	// LeadIDs are the lead and every lead merged into it, all erased.
	LeadIDs []uuid.UUID `json:"lead_ids"`
	// Addresses is how many email addresses are now kept only as hashes,
	// so they are never mailed again.
	Addresses int       `json:"addresses"`
	ErasedAt  time.Time `json:"erased_at"`
	// Already: the person had been erased before; nothing more was done.
	Already bool `json:"already"`
}

// eraseLead removes the personal data of the lead's person everywhere and
// answers 200, the second time too.
func (a *API) eraseLead(c echo.Context) error {
	p, id, err := httpapi.Record(c)
	if err != nil {
		return err
	}
	e, err := a.store.ErasePerson(c.Request().Context(), p.WorkspaceID, id, p.Actor(), time.Time{})
	if err != nil {
		return err
	}
	if !e.Already {
		a.log.Info("person_erased", "lead_id", id, "leads", len(e.LeadIDs), "addresses", e.Addresses)
	}
	return c.JSON(http.StatusOK, Erasure{LeadID: id, LeadIDs: e.LeadIDs, Addresses: e.Addresses,
		ErasedAt: e.ErasedAt.UTC(), Already: e.Already})
}
