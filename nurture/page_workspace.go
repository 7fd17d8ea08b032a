package nurture

import (
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"leadflow/embed/console"
	"leadflow/embed/httpapi"
	"leadflow/store"
)

//go:embed templates/console/workspace.html
var workspacePageHTML string

// workspacePage is the admin's page of the workspace's settings: the
// sender, the postal address emails carry, the send rate, consent and the
// time zone.
type workspacePage struct {
	con   *console.Console
	store *store.Store
	log   *slog.Logger
	tmpl  *template.Template
}

// WorkspaceConsoleRoutes registers the workspace settings page on g (the
// console's signed-in, CSRF-checked group), for admins, as PATCH
// /workspace is.
func WorkspaceConsoleRoutes(g *echo.Group, con *console.Console, st *store.Store, log *slog.Logger) error {
	tmpl, err := console.Page("workspace", workspacePageHTML)
	if err != nil {
		return fmt.Errorf("workspace page: %w", err)
	}
	p := &workspacePage{con: con, store: st, log: log, tmpl: tmpl}
	admin := con.Require(store.UserAdmin)
	g.GET("/workspace", p.show, admin)
	g.POST("/workspace", p.save, admin)
	return nil
}

type workspaceForm struct {
	Name                                                   string
	SenderName, SenderEmail, PostalAddress, Rate, Timezone string
	RequireConsent                                         bool
	Errors                                                 map[string]string
	Notice, Error                                          string
}

func (p *workspacePage) show(ec echo.Context) error {
	pr, err := httpapi.PrincipalOf(ec)
	if err != nil {
		return err
	}
	ws, err := p.store.GetWorkspace(ec.Request().Context(), pr.WorkspaceID)
	if err != nil {
		return fmt.Errorf("workspace page: %w", err)
	}
	s := ws.WorkspaceSettings
	f := workspaceForm{Name: ws.Name, SenderName: s.SenderName, SenderEmail: s.SenderEmail, PostalAddress: s.PostalAddress,
		Rate: strconv.FormatFloat(s.SendRatePerSecond, 'f', -1, 64), Timezone: s.Timezone, RequireConsent: s.RequireConsent}
	if ec.QueryParam("saved") != "" {
		f.Notice = "Saved."
	}
	return p.con.Render(ec, http.StatusOK, p.tmpl, "Workspace", f)
}

// save changes the settings through UpdateWorkspaceSettings, as PATCH
// /workspace does.
func (p *workspacePage) save(ec echo.Context) error {
	pr, err := httpapi.PrincipalOf(ec)
	if err != nil {
		return err
	}
	ctx := ec.Request().Context()
	f := workspaceForm{SenderName: ec.FormValue("sender_name"), SenderEmail: ec.FormValue("sender_email"),
		PostalAddress: ec.FormValue("postal_address"), Rate: strings.TrimSpace(ec.FormValue("send_rate_per_second")),
		Timezone: ec.FormValue("timezone"), RequireConsent: ec.FormValue("require_consent") != ""}
	ws, err := UpdateWorkspaceSettings(ctx, p.store, pr.WorkspaceID, func(s *store.WorkspaceSettings) error {
		rate, err := strconv.ParseFloat(f.Rate, 64)
		if err != nil {
			return &ValidationError{Fields: map[string]string{"send_rate_per_second": fmt.Sprintf("must be a number more than 0 and at most %d", MaxSendRate)}}
		}
		s.SenderName, s.SenderEmail, s.PostalAddress, s.SendRatePerSecond = f.SenderName, f.SenderEmail, f.PostalAddress, rate
		s.Timezone, s.RequireConsent = f.Timezone, f.RequireConsent
		return nil
	})
	var verr *ValidationError
	if errors.As(err, &verr) {
		cur, gerr := p.store.GetWorkspace(ctx, pr.WorkspaceID)
		if gerr != nil {
			return fmt.Errorf("workspace page: %w", gerr)
		}
		f.Name, f.Errors, f.Error = cur.Name, verr.Fields, "Nothing was saved: see the fields below."
		return p.con.Render(ec, http.StatusUnprocessableEntity, p.tmpl, "Workspace", f)
	}
	if err != nil {
		return fmt.Errorf("save workspace settings: %w", err)
	}
	p.log.InfoContext(ctx, "workspace_settings_updated", "workspace_id", ws.ID, "actor", pr.Actor())
	return ec.Redirect(http.StatusSeeOther, "/console/workspace?saved=1")
}
