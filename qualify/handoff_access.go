package qualify

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"leadflow/store"
)

// Who sees which handoffs is one rule, read here by the API and the console
// alike, for a list and for one handoff:
//
//   - an admin, marketing, and a sales key that acts as no user (an
//     integration) read every handoff of the workspace;
//   - a sales_admin user reads every one, a sales_manager their own and
//     their teams' (the handoff's team, or a team its owner is a member of),
//     a sales_rep (or any other user) their own.
//
// A handoff outside the rule is answered as a missing one: it is not there
// for whoever may not read it. Deciding on a handoff one may read then
// answers to MayWork (a sales key acting as no user reads, decides nothing).

// HandoffScope is whose handoffs w may read.
func (e *Engine) HandoffScope(ctx context.Context, workspaceID uuid.UUID, w Worker) (store.WorkScope, error) {
	if w.Role == store.RoleAdmin || w.Role == store.RoleMarketing || w.UserID == uuid.Nil {
		return store.WorkScope{All: true}, nil
	}
	u, err := e.workerUser(ctx, workspaceID, w)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// A user the key no longer finds reads nothing.
		return store.WorkScope{}, nil
	case err != nil:
		return store.WorkScope{}, err
	}
	switch u.Role {
	case store.UserSalesAdmin, store.UserMarketing, store.UserAdmin:
		return store.WorkScope{All: true}, nil
	case store.UserSalesManager:
		return store.WorkScope{UserID: u.ID, Managed: true}, nil
	}
	return store.WorkScope{UserID: u.ID}, nil
}

// ReadHandoff returns the handoff when w may read it. One of another
// workspace, missing, or outside w's scope is store.ErrNotFound; outside
// the scope it is a *HiddenError, for a page to explain.
func (e *Engine) ReadHandoff(ctx context.Context, workspaceID uuid.UUID, w Worker, id uuid.UUID) (store.Handoff, error) {
	scope, err := e.HandoffScope(ctx, workspaceID, w)
	if err != nil {
		return store.Handoff{}, err
	}
	h, err := e.cfg.Store.GetHandoffInScope(ctx, workspaceID, id, scope)
	if !errors.Is(err, store.ErrNotFound) || scope.All {
		return h, err
	}
	if _, gerr := e.cfg.Store.GetHandoff(ctx, workspaceID, id); gerr != nil {
		return store.Handoff{}, err
	}
	return store.Handoff{}, &HiddenError{}
}

// WorkHandoff returns the handoff when w may read it (ReadHandoff) and
// decide on it (MayWork: a *ForbiddenError otherwise).
func (e *Engine) WorkHandoff(ctx context.Context, workspaceID uuid.UUID, w Worker, id uuid.UUID) (store.Handoff, error) {
	h, err := e.ReadHandoff(ctx, workspaceID, w, id)
	if err != nil {
		return h, err
	}
	return h, e.MayWork(ctx, workspaceID, w, h.OwnerID, h.TeamID)
}

// HiddenError is a handoff of the workspace that the worker may not read.
// It is store.ErrNotFound, so the API answers it as a missing one.
type HiddenError struct{}

func (e *HiddenError) Error() string { return "handoff not in the reader's scope" }
func (e *HiddenError) Unwrap() error { return store.ErrNotFound }
