package qualify

import (
	"context"

	"github.com/google/uuid"

	"leadflow/store"
)

// saveTeam creates a team of the workspace (id nil) or changes one, with
// its members when in names them, in one transaction: what POST and PATCH
// /teams and the console's team pages do.
func (e *Engine) saveTeam(ctx context.Context, workspaceID uuid.UUID, id *uuid.UUID, in apiTeamInput) (apiTeam, error) {
	var out []apiTeam
	err := e.cfg.Store.InTx(ctx, func(q *store.Queries) error {
		t := store.Team{WorkspaceID: workspaceID}
		if id != nil {
			var err error
			if t, err = q.GetTeam(ctx, workspaceID, *id); err != nil {
				return err
			}
		}
		members, err := in.apply(ctx, q, &t)
		if err != nil {
			return err
		}
		if id == nil {
			t, err = q.InsertTeam(ctx, t)
		} else {
			t, err = q.UpdateTeam(ctx, t)
		}
		if err != nil {
			return err
		}
		if members != nil {
			if err := q.ReplaceTeamMembers(ctx, workspaceID, t.ID, members); err != nil {
				return err
			}
		}
		out, err = apiTeamsOf(ctx, q, workspaceID, []store.Team{t})
		return err
	})
	if err != nil {
		return apiTeam{}, err
	}
	return out[0], nil
}

// updateUser changes a user of the workspace as PATCH /users/{id} and the
// console's team page (availability) do.
func (e *Engine) updateUser(ctx context.Context, workspaceID, id uuid.UUID, in apiUserInput) (store.User, error) {
	var u store.User
	err := e.cfg.Store.InTx(ctx, func(q *store.Queries) error {
		var err error
		if u, err = q.GetUser(ctx, workspaceID, id); err != nil {
			return err
		}
		if err := in.apply(&u); err != nil {
			return err
		}
		u, err = q.UpdateUser(ctx, u)
		return apiEmailTaken(err)
	})
	return u, err
}
