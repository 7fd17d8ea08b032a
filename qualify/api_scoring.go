package qualify

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"leadflow/embed/httpapi"
	"leadflow/store"
)

// ScoreJob is how the API shows a store.ScoreJob.
type ScoreJob struct {
	ID         uuid.UUID  `json:"id"`
	Status     string     `json:"status"`
	Total      int        `json:"total"`
	Done       int        `json:"done"`
	CreatedAt  time.Time  `json:"created_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

func newScoreJob(r store.ScoreJob) ScoreJob {
	return ScoreJob{
		ID:         r.ID,
		Status:     r.Status,
		Total:      r.Total,
		Done:       r.Done,
		CreatedAt:  r.CreatedAt,
		FinishedAt: r.FinishedAt,
	}
}

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
	return c.JSON(http.StatusAccepted, newScoreJob(job))
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
	return c.JSON(http.StatusOK, newScoreJob(job))
}
