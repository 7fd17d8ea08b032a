package qualify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// apiMaxURL bounds a webhook URL.
const apiMaxURL = 2048

// apiWebhookInput is what POST /webhooks reads.
type apiWebhookInput struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

// Webhook is how the API shows a store.Webhook.
type Webhook struct {
	ID        uuid.UUID `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
}

func newWebhook(r store.Webhook) Webhook {
	return Webhook{
		ID:        r.ID,
		URL:       r.URL,
		Events:    r.Events,
		Active:    r.Active,
		CreatedAt: r.CreatedAt,
	}
}

// apiCreatedWebhook is a new webhook with its secret: the only answer that
// ever shows the secret.
type apiCreatedWebhook struct {
	Webhook
	Secret string `json:"secret"`
}

// validate checks in and returns the webhook it describes. The URL's host
// is resolved: a webhook to an address the guard refuses is refused now, with
// the reason, rather than failing at every delivery.
func (in apiWebhookInput) validate(ctx context.Context, workspaceID uuid.UUID, guard *webhookGuard) (store.Webhook, error) {
	bad := map[string]string{}
	w := store.Webhook{WorkspaceID: workspaceID, URL: strings.TrimSpace(in.URL)}
	u, err := url.Parse(w.URL)
	switch {
	case w.URL == "":
		bad["url"] = "is required"
	case len(w.URL) > apiMaxURL:
		bad["url"] = fmt.Sprintf("must be at most %d characters", apiMaxURL)
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" || u.Fragment != "":
		bad["url"] = "must be an absolute http or https URL without a fragment"
	case u.User != nil:
		// Credentials in a URL end up in logs and answers; receivers
		// authenticate deliveries by their signature.
		bad["url"] = "must not carry credentials (user:password@); verify the Leadflow-Signature header instead"
	default:
		if err := guard.checkHost(ctx, u); err != nil {
			bad["url"] = "must reach a public address: " + err.Error() +
				" (an operator can allow such a network with LEADFLOW_WEBHOOK_ALLOW_NETWORKS)"
		}
	}
	for _, ev := range in.Events {
		if !slices.Contains(WebhookEvents, ev) {
			bad["events"] = "must be some of " + strings.Join(WebhookEvents, ", ")
			break
		}
		if !slices.Contains(w.Events, ev) {
			w.Events = append(w.Events, ev)
		}
	}
	if len(in.Events) == 0 {
		bad["events"] = "must name at least one of " + strings.Join(WebhookEvents, ", ")
	}
	if len(bad) > 0 {
		return store.Webhook{}, &ValidationError{Fields: bad}
	}
	return w, nil
}

// newWebhookSecret is 256 random bits, the HMAC key of a webhook.
func newWebhookSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "whsec_" + hex.EncodeToString(b)
}

func (a *API) createWebhook(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	var in apiWebhookInput
	if err := httpapi.Decode(c, apiMaxBody, &in); err != nil {
		return err
	}
	w, err := a.engine.CreateWebhook(c.Request().Context(), p.WorkspaceID, in.URL, in.Events)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, apiCreatedWebhook{Webhook: newWebhook(w), Secret: w.Secret})
}

func (a *API) listWebhooks(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	page, limit, err := httpapi.ReadPage(c)
	if err != nil {
		return err
	}
	ws, err := a.store.ListWebhooks(c.Request().Context(), p.WorkspaceID, page)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, httpapi.ListOf(httpapi.Map(ws, newWebhook), limit, func(w Webhook) uuid.UUID { return w.ID }))
}

func (a *API) getWebhook(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	w, err := a.store.GetWebhook(c.Request().Context(), p.WorkspaceID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newWebhook(w))
}

func (a *API) deleteWebhook(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	if err := a.store.DeleteWebhook(c.Request().Context(), p.WorkspaceID, id); err != nil {
		return err
	}
	a.log.Info("webhook_deleted", "webhook_id", id, "workspace_id", p.WorkspaceID)
	return c.NoContent(http.StatusNoContent)
}

// apiWebhookDelivery is one delivery as the deliveries list shows it: what
// happened to it so far, without its payload.
type apiWebhookDelivery struct {
	ID       uuid.UUID `json:"id"`
	Event    string    `json:"event"`
	Status   string    `json:"status"`
	Attempts int       `json:"attempts"`
	// InFlight: an attempt is being made now.
	InFlight bool `json:"in_flight"`
	// LastStatus is the receiver's HTTP status at the last attempt, null
	// when it gave none (refused, unreachable, timed out).
	LastStatus    *int       `json:"last_status"`
	LastError     string     `json:"last_error"`
	CreatedAt     time.Time  `json:"created_at"`
	LastAttemptAt *time.Time `json:"last_attempt_at"`
	// NextAttemptAt is set while the delivery is pending and not in flight.
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	DeliveredAt   *time.Time `json:"delivered_at"`
}

func toAPIWebhookDelivery(d store.WebhookDelivery, now time.Time) apiWebhookDelivery {
	out := apiWebhookDelivery{
		ID: d.ID, Event: d.Event, Status: d.Status, Attempts: d.Attempts,
		InFlight:   d.Status == "pending" && d.LeasedUntil != nil && d.LeasedUntil.After(now),
		LastStatus: d.LastStatus, LastError: d.LastError, CreatedAt: d.CreatedAt,
		LastAttemptAt: d.LastAttemptAt, DeliveredAt: d.DeliveredAt,
	}
	if d.Status == "pending" && !out.InFlight {
		out.NextAttemptAt = &d.NextAttemptAt
	}
	return out
}

// listWebhookDeliveries pages through a webhook's deliveries, newest first.
func (a *API) listWebhookDeliveries(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	page, limit, err := httpapi.ReadPage(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if _, err := a.store.GetWebhook(ctx, p.WorkspaceID, id); err != nil {
		return err
	}
	ds, err := a.store.ListWebhookDeliveries(ctx, p.WorkspaceID, id, page)
	if err != nil {
		return err
	}
	now := a.engine.now()
	out := make([]apiWebhookDelivery, 0, len(ds))
	for _, d := range ds {
		out = append(out, toAPIWebhookDelivery(d, now))
	}
	return c.JSON(http.StatusOK, httpapi.ListOf(out, limit, func(d apiWebhookDelivery) uuid.UUID { return d.ID }))
}
