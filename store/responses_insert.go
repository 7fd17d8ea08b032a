package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"time"

	"github.com/google/uuid"
)

// InsertResponses stores new responses and their files with one statement per
// table, so the capture path can commit a whole batch in one transaction.
// Each file belongs to one of rs (matched by ResponseID). Outcome, lead and
// processed time start empty whatever rs holds. A response with no channel
// is a form post (ChannelWeb); a nil FormID is stored as no form, which only
// the other channels may have.
func (q *Queries) InsertResponses(ctx context.Context, rs []Response, files []ResponseFile) error {
	if len(rs) == 0 {
		return nil
	}
	n := len(rs)
	var (
		ids, workspaces, forms     = make([]uuid.UUID, n), make([]uuid.UUID, n), make([]uuid.UUID, n)
		received                   = make([]time.Time, n)
		ips                        = make([]*netip.Addr, n)
		agents, referrers          = make([]string, n), make([]string, n)
		raws, fields, customs, utm = make([]json.RawMessage, n), make([]json.RawMessage, n), make([]json.RawMessage, n), make([]json.RawMessage, n)
		sources, campaigns         = make([]string, n), make([]string, n)
		channels, recorders        = make([]string, n), make([]string, n)
		answers                    = make([]json.RawMessage, n)
		verdicts, reasons, status  = make([]string, n), make([]string, n), make([]string, n)
		workspaceOf                = make(map[uuid.UUID]uuid.UUID, n)
	)
	for i, r := range rs {
		var err error
		ids[i], workspaces[i], forms[i] = r.ID, r.WorkspaceID, r.FormID
		received[i], ips[i], agents[i], referrers[i] = r.ReceivedAt, r.IP, r.UserAgent, r.Referrer
		if raws[i], err = jsonObject(r.Raw); err != nil {
			return fmt.Errorf("insert responses: raw: %w", err)
		}
		fields[i] = r.Fields
		if len(fields[i]) == 0 {
			fields[i] = json.RawMessage(`{}`)
		}
		if customs[i], err = jsonObject(r.Custom); err != nil {
			return fmt.Errorf("insert responses: custom: %w", err)
		}
		if utm[i], err = jsonObject(r.UTM); err != nil {
			return fmt.Errorf("insert responses: utm: %w", err)
		}
		sources[i], campaigns[i] = r.LeadSource, r.Campaign
		verdicts[i], reasons[i], status[i] = r.Verdict, r.VerdictReason, r.Status
		if verdicts[i] == "" {
			verdicts[i] = VerdictOK
		}
		if status[i] == "" {
			status[i] = ResponsePending
		}
		channels[i], recorders[i] = cmp.Or(r.Channel, ChannelWeb), r.RecordedBy
		as := r.Answers
		if as == nil {
			as = []Answer{}
		}
		if answers[i], err = json.Marshal(as); err != nil {
			return fmt.Errorf("insert responses: answers: %w", err)
		}
		workspaceOf[r.ID] = r.WorkspaceID
	}
	_, err := q.db.Exec(ctx, `
		INSERT INTO responses (id, workspace_id, form_id, received_at, ip, user_agent, referrer,
			raw, fields, custom, utm, lead_source, campaign, verdict, verdict_reason, status,
			channel, recorded_by, answers)
		SELECT id, ws, NULLIF(form, '00000000-0000-0000-0000-000000000000'), received, ip, agent,
			referrer, raw, fields, custom, utm, source, campaign, verdict, reason, status,
			channel, recorder, answers
		FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::timestamptz[], $5::inet[],
			$6::text[], $7::text[], $8::jsonb[], $9::jsonb[], $10::jsonb[], $11::jsonb[],
			$12::text[], $13::text[], $14::text[], $15::text[], $16::text[],
			$17::text[], $18::text[], $19::jsonb[])
			AS t(id, ws, form, received, ip, agent, referrer, raw, fields, custom, utm, source,
				campaign, verdict, reason, status, channel, recorder, answers)`,
		ids, workspaces, forms, received, ips, agents, referrers, raws, fields, customs, utm,
		sources, campaigns, verdicts, reasons, status, channels, recorders, answers)
	if err != nil {
		return interpret(err, "insert responses")
	}
	if len(files) == 0 {
		return nil
	}
	m := len(files)
	var (
		fileIDs, fileWorkspaces, responseIDs = make([]uuid.UUID, m), make([]uuid.UUID, m), make([]uuid.UUID, m)
		names, filenames, types              = make([]string, m), make([]string, m), make([]string, m)
		sizes                                = make([]int32, m)
		data                                 = make([][]byte, m)
	)
	for i, f := range files {
		ws, ok := workspaceOf[f.ResponseID]
		if !ok {
			return fmt.Errorf("insert response files: file %d: %w (response not in batch)", i, ErrInvalidReference)
		}
		fileIDs[i], fileWorkspaces[i], responseIDs[i] = f.ID, ws, f.ResponseID
		if fileIDs[i] == uuid.Nil {
			fileIDs[i] = NewID()
		}
		names[i], filenames[i], types[i] = f.Field, f.Filename, f.ContentType
		sizes[i], data[i] = int32(len(f.Data)), f.Data
		if data[i] == nil {
			data[i] = []byte{}
		}
	}
	_, err = q.db.Exec(ctx, `
		INSERT INTO response_files (id, workspace_id, response_id, field, filename, content_type, size, data)
		SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[],
			$7::int4[], $8::bytea[])`,
		fileIDs, fileWorkspaces, responseIDs, names, filenames, types, sizes, data)
	return interpret(err, "insert response files")
}

// jsonObject encodes a map for a jsonb column that must hold an object: a
// nil map is stored as {} rather than null.
func jsonObject[V any](m map[string]V) (json.RawMessage, error) {
	if m == nil {
		return json.RawMessage(`{}`), nil
	}
	return json.Marshal(m)
}
