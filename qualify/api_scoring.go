package qualify

import (
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
)

// apiScoring is the body of PUT /scoring: members left out keep their
// current value.
type apiScoring struct {
	Points          json.RawMessage `json:"points"`
	FitRules        json.RawMessage `json:"fit_rules"`
	GradeThresholds json.RawMessage `json:"grade_thresholds"`
	HalfLife        *string         `json:"half_life"`
}

func (a *API) getScoring(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	v, err := a.engine.Scoring(c.Request().Context(), p.WorkspaceID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (a *API) putScoring(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	var b apiScoring
	if err := httpapi.Decode(c, apiMaxBody, &b); err != nil {
		return err
	}
	v, err := a.engine.PutScoring(c.Request().Context(), p.WorkspaceID, ScoringUpdate(b))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// recomputeScores starts a job that re-applies the rules and the active
// criteria to every lead; GET /scoring/jobs/:id follows it.
func (a *API) recomputeScores(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	job, err := a.engine.StartRecompute(c.Request().Context(), p.WorkspaceID)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/scoring/jobs/"+job.ID.String())
	return c.JSON(http.StatusAccepted, job)
}

func (a *API) getScoreJob(c echo.Context) error {
	p, err := httpapi.PrincipalOf(c)
	if err != nil {
		return err
	}
	id, err := httpapi.PathID(c)
	if err != nil {
		return err
	}
	job, err := a.engine.ScoreJob(c.Request().Context(), p.WorkspaceID, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, job)
}
