package capture

import (
	"context"
	"log/slog"
	"net/netip"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// rateLimitTimeout bounds the Redis round trip of a rate-limit check: past
// it the post is let through, because losing a real lead costs more than
// letting a burst of spam reach the spam checks.
const rateLimitTimeout = 100 * time.Millisecond

// rateLimiter counts posts per form and client IP in fixed one-minute
// windows kept in Redis, so every serve process shares the count.
type rateLimiter struct {
	rdb redis.UniversalClient
	log *slog.Logger
	// unavailable throttles the warning logged while Redis is unreachable:
	// a busy form would otherwise log every post.
	unavailable warnThrottle
}

// allow counts one post of ip to the form and reports whether it is within
// limit per minute; when not, it also says when the window ends. A limit of
// 0 is no limit. A Redis failure allows the post.
func (l *rateLimiter) allow(ctx context.Context, formID uuid.UUID, ip string, limit int, now time.Time) (bool, time.Duration) {
	if limit <= 0 {
		return true, 0
	}
	window := now.Unix() / 60
	key := "leadflow:ratelimit:" + formID.String() + ":" + clientKey(ip) + ":" + strconv.FormatInt(window, 10)
	ctx, cancel := context.WithTimeout(ctx, rateLimitTimeout)
	defer cancel()
	var count *redis.IntCmd
	_, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		count = p.Incr(ctx, key)
		// A little past the window, so a slow clock elsewhere still counts.
		p.Expire(ctx, key, 2*time.Minute)
		return nil
	})
	if err != nil {
		if n, ok := l.unavailable.hit(now); ok {
			l.log.Warn("rate_limit_unavailable", "form_id", formID, "error", err, "count", n)
		}
		return true, 0
	}
	if count.Val() <= int64(limit) {
		return true, 0
	}
	return false, time.Unix((window+1)*60, 0).Sub(now)
}

// clientKey names the client in a rate-limit key. IPv6 clients are counted
// by /64: one subscriber usually holds a whole /64, so counting single
// addresses would let one bot rotate through it.
func clientKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return "unknown"
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}
