package nurture

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// rateLimiter holds a workspace's sending to its send rate across every
// worker process: the limit's state is one Redis key per workspace, updated
// by redis_rate's GCRA script with Redis's own clock, so processes on
// machines whose clocks disagree still share one pace.
type rateLimiter struct {
	lim *redis_rate.Limiter
}

func newRateLimiter(rdb redis.UniversalClient) *rateLimiter {
	return &rateLimiter{lim: redis_rate.NewLimiter(rdb)}
}

// sendRateKey is the workspace's limiter key (redis_rate adds "rate:").
func sendRateKey(workspaceID uuid.UUID) string {
	return "leadflow:send:" + workspaceID.String()
}

// sendLimit turns messages per second into a GCRA limit: one message per
// 1/perSecond seconds, with a burst of a tenth of a second's worth (at
// least one), so no one-second window holds more than perSecond plus that
// burst. GCRA counts whole events over a period, so a fractional rate is
// written over a period long enough to keep its precision.
func sendLimit(perSecond float64) redis_rate.Limit {
	burst := max(1, int(perSecond/10))
	if perSecond >= 1 && perSecond == math.Trunc(perSecond) {
		return redis_rate.Limit{Rate: int(perSecond), Period: time.Second, Burst: burst}
	}
	return redis_rate.Limit{Rate: max(1, int(math.Round(perSecond*1000))), Period: 1000 * time.Second, Burst: burst}
}

// wait returns once the workspace may send one more message, with how long
// it waited, or with ctx's error. Redis being away is an error: sending
// without the limit could break the rate every other process keeps.
func (r *rateLimiter) wait(ctx context.Context, workspaceID uuid.UUID, perSecond float64) (time.Duration, error) {
	limit := sendLimit(perSecond)
	key := sendRateKey(workspaceID)
	var waited time.Duration
	for {
		res, err := r.lim.Allow(ctx, key, limit)
		if err != nil {
			return waited, fmt.Errorf("send rate: %w", err)
		}
		if res.Allowed > 0 {
			return waited, nil
		}
		d := res.RetryAfter
		if d <= 0 {
			d = time.Millisecond
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return waited, ctx.Err()
		case <-t.C:
			waited += d
		}
	}
}
