package nurture

import (
	"testing"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/google/go-cmp/cmp"
)

func TestSendLimit(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		perSecond float64
		want      redis_rate.Limit
	}{
		{5, redis_rate.Limit{Rate: 5, Period: time.Second, Burst: 1}},
		{100, redis_rate.Limit{Rate: 100, Period: time.Second, Burst: 10}},
		{0.5, redis_rate.Limit{Rate: 500, Period: 1000 * time.Second, Burst: 1}},
		{12.5, redis_rate.Limit{Rate: 12500, Period: 1000 * time.Second, Burst: 1}},
	} {
		if diff := cmp.Diff(tt.want, sendLimit(tt.perSecond)); diff != "" {
			t.Errorf("sendLimit(%v) (-want +got):\n%s", tt.perSecond, diff)
		}
	}
}

func TestDefaultRetryDelay(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		attempt int
		around  time.Duration
	}{{1, 30 * time.Second}, {2, time.Minute}, {4, 4 * time.Minute}, {7, 32 * time.Minute}, {8, time.Hour}, {40, time.Hour}} {
		for range 20 {
			d := defaultRetryDelay(tt.attempt)
			if d < tt.around*9/10 || d > tt.around*11/10 {
				t.Errorf("defaultRetryDelay(%d) = %s, want %s give or take a tenth", tt.attempt, d, tt.around)
			}
		}
	}
}
