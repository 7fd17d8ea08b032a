package qualify

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"

	"github.com/labstack/echo/v4"

	"leadflow/store"
)

// apiActor names who makes a request in audit trails and decisions: the
// user the API key acts as when it acts as one (a sales rep accepting
// their handoff), else the key.
func (api *API) apiActor(c echo.Context) (store.Principal, string, error) {
	p, err := apiPrincipal(c)
	if err != nil {
		return store.Principal{}, "", err
	}
	u, err := api.store.UserOfAPIKey(c.Request().Context(), p.WorkspaceID, p.KeyID)
	switch {
	case err == nil:
		return p, "user:" + u.ID.String(), nil
	case errors.Is(err, store.ErrNotFound):
		return p, p.Actor(), nil
	}
	return store.Principal{}, "", err
}

// acceptRequest is the body of an accept. The opportunity is kept raw so
// that its members are checked as strictly as the top level's.
type acceptRequest struct {
	CreateOpportunity *bool           `json:"create_opportunity"`
	Opportunity       json.RawMessage `json:"opportunity"`
}

// acceptHandoff converts the handoff's lead: POST /handoffs/:id/accept.
// The body may be empty.
func (api *API) acceptHandoff(c echo.Context) error {
	p, actor, err := api.apiActor(c)
	if err != nil {
		return err
	}
	id, err := apiPathID(c)
	if err != nil {
		return err
	}
	var req acceptRequest
	if c.Request().ContentLength != 0 {
		if err := apiDecode(c, &req); err != nil {
			return err
		}
	}
	in := AcceptInput{CreateOpportunity: req.CreateOpportunity}
	if len(req.Opportunity) > 0 && string(req.Opportunity) != "null" {
		var o NewOpportunity
		if err := apiDecodeMember("opportunity", req.Opportunity, &o); err != nil {
			return err
		}
		in.Opportunity = &o
	}
	out, err := api.engine.Accept(c.Request().Context(), p.WorkspaceID, id, actor, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// apiDecodeMember decodes a nested JSON object strictly, naming its fields
// at fault as "<member>.<field>".
func apiDecodeMember(member string, data json.RawMessage, dst any) error {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil || members == nil {
		return invalid(member, "must be an object")
	}
	known := apiJSONNames(reflect.TypeOf(dst).Elem())
	bad := map[string]string{}
	for name := range members {
		if !known[name] {
			bad[member+"."+name] = "unknown field"
		}
	}
	if len(bad) > 0 {
		return &ValidationError{Fields: bad}
	}
	if err := json.Unmarshal(data, dst); err != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
			return invalid(member+"."+te.Field, "must be "+apiJSONKind(te.Type))
		}
		return invalid(member, "must be an object")
	}
	return nil
}

// rejectRequest is the body of a reject.
type rejectRequest struct {
	Reason string `json:"reason"`
}

// rejectHandoff recycles the handoff's lead: POST /handoffs/:id/reject.
func (api *API) rejectHandoff(c echo.Context) error {
	p, actor, err := api.apiActor(c)
	if err != nil {
		return err
	}
	id, err := apiPathID(c)
	if err != nil {
		return err
	}
	var req rejectRequest
	if err := apiDecode(c, &req); err != nil {
		return err
	}
	out, err := api.engine.Reject(c.Request().Context(), p.WorkspaceID, id, actor, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}
