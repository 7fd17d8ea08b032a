package console

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// limitTimeout bounds the Redis round trip of a limit check.
const limitTimeout = 200 * time.Millisecond

// limiter bounds sign-in attempts per address and per client IP with
// redis_rate's GCRA in Redis, so every serve process counts into the same
// limit. When Redis cannot answer the attempt is let through and a warning
// logged: sign-in stays possible while Redis is down, and each password
// guess still costs an argon2id hash.
type limiter struct {
	lim               *redis_rate.Limiter
	log               *slog.Logger
	perAddress, perIP redis_rate.Limit
}

func newLimiter(rdb redis.UniversalClient, log *slog.Logger, perAddress, perIP int, window time.Duration) *limiter {
	return &limiter{
		lim:        redis_rate.NewLimiter(rdb),
		log:        log,
		perAddress: redis_rate.Limit{Rate: perAddress, Burst: perAddress, Period: window},
		perIP:      redis_rate.Limit{Rate: perIP, Burst: perIP, Period: window},
	}
}

// allow counts one attempt for the address and the IP and reports whether
// both are within their limits; when not, it says how long to wait.
func (l *limiter) allow(ctx context.Context, address, ip string) (bool, time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, limitTimeout)
	defer cancel()
	for _, k := range []struct {
		key   string
		limit redis_rate.Limit
	}{{addressKey(address), l.perAddress}, {"leadflow:signin:ip:" + ipKey(ip), l.perIP}} {
		res, err := l.lim.Allow(ctx, k.key, k.limit)
		if err != nil {
			l.log.Warn("console_rate_limit_unavailable", "err", err)
			return true, 0
		}
		if res.Allowed == 0 {
			return false, res.RetryAfter
		}
	}
	return true, 0
}

// forget clears an address's count after it signed in.
func (l *limiter) forget(ctx context.Context, address string) {
	ctx, cancel := context.WithTimeout(ctx, limitTimeout)
	defer cancel()
	if err := l.lim.Reset(ctx, addressKey(address)); err != nil {
		l.log.Warn("console_rate_limit_unavailable", "err", err)
	}
}

// addressKey names an address by its hash: Redis need not hold addresses.
func addressKey(address string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(address))))
	return "leadflow:signin:address:" + hex.EncodeToString(sum[:12])
}

// ipKey counts IPv6 clients by /64, which one subscriber usually holds.
func ipKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "unknown"
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
