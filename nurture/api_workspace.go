package nurture

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// Workspace is how the API shows a store.Workspace.
type Workspace struct {
	ID        uuid.UUID `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	WorkspaceSettings
}

func newWorkspace(r store.Workspace) Workspace {
	return Workspace{
		ID:                r.ID,
		Name:              r.Name,
		CreatedAt:         r.CreatedAt,
		WorkspaceSettings: newWorkspaceSettings(r.WorkspaceSettings),
	}
}

// WorkspaceSettings is how the API shows a store.WorkspaceSettings.
type WorkspaceSettings struct {
	SenderName        string  `json:"sender_name"`
	SenderEmail       string  `json:"sender_email"`
	PostalAddress     string  `json:"postal_address"`
	SendRatePerSecond float64 `json:"send_rate_per_second"`
	RequireConsent    bool    `json:"require_consent"`
	Timezone          string  `json:"timezone"`
}

func newWorkspaceSettings(r store.WorkspaceSettings) WorkspaceSettings {
	return WorkspaceSettings{
		SenderName:        r.SenderName,
		SenderEmail:       r.SenderEmail,
		PostalAddress:     r.PostalAddress,
		SendRatePerSecond: r.SendRatePerSecond,
		RequireConsent:    r.RequireConsent,
		Timezone:          r.Timezone,
	}
}

// MaxSendRate is the highest workspace send rate, in messages per second
// (the schema's bound too).
const MaxSendRate = 10000

func (a *API) getWorkspace(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	ws, err := a.store.GetWorkspace(c.Request().Context(), p.WorkspaceID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newWorkspace(ws))
}

// updateWorkspace changes the sending settings sent and keeps the others.
// While a sequence is active, the sender email and postal address cannot be
// cleared: every marketing email needs them.
func (a *API) updateWorkspace(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	_, members, err := httpapi.ReadObject(c, apiMaxBody)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	out, err := UpdateWorkspaceSettings(ctx, a.store, p.WorkspaceID, func(s *store.WorkspaceSettings) error {
		return httpapi.Bind(members, map[string]any{
			"sender_name":          &s.SenderName,
			"sender_email":         &s.SenderEmail,
			"postal_address":       &s.PostalAddress,
			"send_rate_per_second": &s.SendRatePerSecond,
			"require_consent":      &s.RequireConsent,
			"timezone":             &s.Timezone,
		})
	})
	if err != nil {
		return err
	}
	a.log.InfoContext(ctx, "workspace_settings_updated", "workspace_id", out.ID, "actor", p.Actor())
	return c.JSON(http.StatusOK, newWorkspace(out))
}

// checkSettings trims and validates sending settings, naming every field at
// fault.
// UpdateWorkspaceSettings changes the workspace's settings with change and
// saves them if they are valid, in one transaction with the workspace
// locked: what PATCH /workspace and the console's workspace page do. A
// sender address and a postal address stay required while sequences are
// active.
func UpdateWorkspaceSettings(ctx context.Context, st *store.Store, workspaceID uuid.UUID, change func(*store.WorkspaceSettings) error) (store.Workspace, error) {
	var out store.Workspace
	err := st.InTx(ctx, func(q *store.Queries) error {
		ws, err := q.LockWorkspace(ctx, workspaceID)
		if err != nil {
			return err
		}
		s := ws.WorkspaceSettings
		if err := change(&s); err != nil {
			return err
		}
		bad := checkSettings(&s)
		if s.PostalAddress == "" || s.SenderEmail == "" {
			active, err := q.CountActiveSequences(ctx, workspaceID)
			if err != nil {
				return err
			}
			if active > 0 {
				msg := fmt.Sprintf("is required while sequences are active (%d): pause them first", active)
				if s.PostalAddress == "" {
					bad["postal_address"] = msg
				}
				if s.SenderEmail == "" {
					bad["sender_email"] = msg
				}
			}
		}
		if len(bad) > 0 {
			return &ValidationError{Fields: bad}
		}
		out, err = q.UpdateWorkspaceSettings(ctx, workspaceID, s)
		return err
	})
	return out, err
}

func checkSettings(s *store.WorkspaceSettings) map[string]string {
	bad := map[string]string{}
	s.SenderName = strings.TrimSpace(s.SenderName)
	switch {
	case utf8.RuneCountInString(s.SenderName) > MaxNameLen:
		bad["sender_name"] = fmt.Sprintf("must be at most %d characters", MaxNameLen)
	case strings.ContainsFunc(s.SenderName, unicode.IsControl):
		// It goes into the From header.
		bad["sender_name"] = "must be one line without control characters"
	}
	s.SenderEmail = strings.TrimSpace(s.SenderEmail)
	if s.SenderEmail != "" {
		if err := ValidateSenderEmail(s.SenderEmail); err != nil {
			bad["sender_email"] = err.Error()
		}
	}
	s.PostalAddress = strings.TrimSpace(strings.ReplaceAll(s.PostalAddress, "\r\n", "\n"))
	switch {
	case utf8.RuneCountInString(s.PostalAddress) > MaxPostalAddress:
		bad["postal_address"] = fmt.Sprintf("must be at most %d characters", MaxPostalAddress)
	case strings.ContainsFunc(s.PostalAddress, func(r rune) bool { return r != '\n' && unicode.IsControl(r) }):
		bad["postal_address"] = "must be text: lines, without control characters"
	}
	if !(s.SendRatePerSecond > 0 && s.SendRatePerSecond <= MaxSendRate) {
		bad["send_rate_per_second"] = fmt.Sprintf("must be more than 0 and at most %d", MaxSendRate)
	}
	s.Timezone = strings.TrimSpace(s.Timezone)
	if err := ValidateTimezone(s.Timezone); err != nil {
		bad["timezone"] = err.Error()
	}
	return bad
}
