package qualify

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"leadflow/store"
)

// CreateWebhook validates and stores a webhook of the workspace with a
// fresh secret; the returned webhook carries the secret, the only time it
// is shown. A URL the delivery guard refuses is refused now, with why.
func (e *Engine) CreateWebhook(ctx context.Context, workspaceID uuid.UUID, rawURL string, events []string) (store.Webhook, error) {
	w, err := apiWebhookInput{URL: rawURL, Events: events}.validate(ctx, workspaceID, e.guard)
	if err != nil {
		return store.Webhook{}, err
	}
	w.Secret = newWebhookSecret()
	if w, err = e.cfg.Store.InsertWebhook(ctx, w); err != nil {
		return store.Webhook{}, fmt.Errorf("create webhook: %w", err)
	}
	e.log.Info("webhook_created", "webhook_id", w.ID, "workspace_id", w.WorkspaceID, "events", strings.Join(w.Events, ","))
	return w, nil
}
