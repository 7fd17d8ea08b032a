package qualify

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// recentDeliveries is how many of each webhook's deliveries the page
// shows, newest first; the API pages through all of them.
const recentDeliveries = 5

type webhookRow struct {
	Webhook    store.Webhook
	Deliveries []apiWebhookDelivery
}

type webhookForm struct {
	URL    string
	Events map[string]bool
	Errors map[string]string
}

type webhooksView struct {
	Webhooks      []webhookRow
	Events        []string
	Form          webhookForm
	Created       *store.Webhook
	Next          string
	Notice, Error string
}

// webhooks lists the workspace's webhooks a page at a time, each with its
// latest deliveries.
func (p *adminPages) webhooks(ec echo.Context) error {
	v := webhooksView{Form: webhookForm{Events: map[string]bool{}}}
	if ec.QueryParam("deleted") != "" {
		v.Notice = "Webhook deleted: nothing more is sent to it."
	}
	return p.renderWebhooks(ec, http.StatusOK, v)
}

func (p *adminPages) renderWebhooks(ec echo.Context, status int, v webhooksView) error {
	pr, err := httpapi.PrincipalOf(ec)
	if err != nil {
		return err
	}
	page, show, err := httpapi.ReadPage(ec)
	if err != nil {
		return err
	}
	ctx := ec.Request().Context()
	ws, err := p.store.ListWebhooks(ctx, pr.WorkspaceID, page)
	if err != nil {
		return fmt.Errorf("webhooks page: %w", err)
	}
	list := httpapi.ListOf(ws, show, func(w store.Webhook) uuid.UUID { return w.ID })
	now := p.engine.now()
	for _, w := range list.Items {
		ds, err := p.store.ListWebhookDeliveries(ctx, pr.WorkspaceID, w.ID, store.Page{Limit: recentDeliveries})
		if err != nil {
			return fmt.Errorf("webhooks page: %w", err)
		}
		row := webhookRow{Webhook: w}
		for _, d := range ds {
			row.Deliveries = append(row.Deliveries, toAPIWebhookDelivery(d, now))
		}
		v.Webhooks = append(v.Webhooks, row)
	}
	if list.NextCursor != nil {
		v.Next = "/console/webhooks?cursor=" + *list.NextCursor
	}
	v.Events = WebhookEvents
	return p.con.Render(ec, status, p.tmpl["webhooks"], "Webhooks", v)
}

// createWebhook makes a webhook through CreateWebhook, as POST /webhooks
// does, and shows its secret in this answer only.
func (p *adminPages) createWebhook(ec echo.Context) error {
	pr, err := httpapi.PrincipalOf(ec)
	if err != nil {
		return err
	}
	form, err := ec.FormParams()
	if err != nil {
		return err
	}
	f := webhookForm{URL: strings.TrimSpace(form.Get("url")), Events: map[string]bool{}}
	for _, ev := range form["events"] {
		f.Events[ev] = true
	}
	w, err := p.engine.CreateWebhook(ec.Request().Context(), pr.WorkspaceID, f.URL, form["events"])
	if f.Errors = fieldErrors(err); f.Errors != nil {
		return p.renderWebhooks(ec, http.StatusUnprocessableEntity, webhooksView{Form: f, Error: "The webhook was not made: see the fields below."})
	}
	if err != nil {
		return err
	}
	return p.renderWebhooks(ec, http.StatusCreated, webhooksView{Form: webhookForm{Events: map[string]bool{}}, Created: &w})
}

func (p *adminPages) deleteWebhook(ec echo.Context) error {
	pr, err := httpapi.PrincipalOf(ec)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(ec)
	if err != nil {
		return err
	}
	if err := p.store.DeleteWebhook(ec.Request().Context(), pr.WorkspaceID, id); err != nil {
		return err
	}
	p.engine.log.Info("webhook_deleted", "webhook_id", id, "workspace_id", pr.WorkspaceID)
	return ec.Redirect(http.StatusSeeOther, "/console/webhooks?deleted=1")
}
