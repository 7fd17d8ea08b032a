package nurture

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
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

// Default confirmation limits.
const (
	// DefaultConfirmPerAddress is how many confirmation emails one address
	// gets per DefaultConfirmWindow.
	DefaultConfirmPerAddress = 3
	// DefaultConfirmPerIP is how many confirmation emails the posts of one
	// client (an IPv4 address, an IPv6 /64) make per DefaultConfirmWindow.
	DefaultConfirmPerIP = 20
	// DefaultConfirmWindow is the window confirmations are counted in.
	DefaultConfirmWindow = time.Hour
)

// ConfirmLimit bounds the confirmation emails (double opt-in and event
// registration) that form posts can make a workspace send: those go at
// once, to any address posted, and greet it with a name the poster chose,
// so without a bound one client could mail anyone, or one address, without
// end from the workspace's domain. A post past a limit is kept and
// processed as usual; only its email is not made. Counts are kept per
// workspace in fixed windows.
type ConfirmLimit struct {
	// PerAddress is how many confirmations one recipient address gets per
	// Window (default DefaultConfirmPerAddress; negative: no limit).
	PerAddress int
	// PerIP is how many confirmations the posts of one client make per
	// Window (default DefaultConfirmPerIP; negative: no limit).
	PerIP int
	// Window is how long counts last (default DefaultConfirmWindow).
	Window time.Duration
}

// confirmSlot records one response in a window's count and returns its
// place (from 0) there: the same response keeps its place, so a retried
// processing gets the answer the first one got. An empty key is skipped
// (-1). Both keys share a hash tag, so they live in one Cluster slot.
var confirmSlot = redis.NewScript(`
local out = {}
for i, key in ipairs(KEYS) do
  local place = -1
  if key ~= "" then
    place = redis.call("HGET", key, ARGV[1])
    if not place then
      place = redis.call("HLEN", key)
      redis.call("HSET", key, ARGV[1], place)
      redis.call("PEXPIRE", key, ARGV[2])
    end
  end
  out[i] = tonumber(place)
end
return out
`)

// confirmLimitTimeout bounds the Redis round trip of a confirmation check.
const confirmLimitTimeout = 2 * time.Second

// confirmAllowed counts the confirmation email of a response to canonical,
// posted from ip (nil: not known, not counted by client), and reports
// whether it is within the limits. Without Redis nothing is counted. When
// Redis does not answer, the error is returned and the response's
// processing is retried later: the email waits rather than going out
// uncounted, and none is lost.
func (e *Engine) confirmAllowed(ctx context.Context, workspaceID, responseID uuid.UUID, canonical string, ip *netip.Addr) (bool, error) {
	if e.cfg.Redis == nil {
		return true, nil
	}
	l := e.cfg.ConfirmLimit
	l.PerAddress = cmp.Or(l.PerAddress, DefaultConfirmPerAddress)
	l.PerIP = cmp.Or(l.PerIP, DefaultConfirmPerIP)
	l.Window = cmp.Or(l.Window, DefaultConfirmWindow)
	window := strconv.FormatInt(e.now().UnixMilli()/l.Window.Milliseconds(), 10)
	prefix := "leadflow:confirm:{" + workspaceID.String() + "}:"
	var addrKey, ipKey string
	if l.PerAddress > 0 && canonical != "" {
		// The address is hashed: a Redis key is no place for it.
		sum := sha256.Sum256([]byte(canonical))
		addrKey = prefix + "to:" + hex.EncodeToString(sum[:16]) + ":" + window
	}
	if l.PerIP > 0 && ip != nil && ip.IsValid() {
		ipKey = prefix + "ip:" + clientKey(*ip) + ":" + window
	}
	if addrKey == "" && ipKey == "" {
		return true, nil
	}
	ctx, cancel := context.WithTimeout(ctx, confirmLimitTimeout)
	defer cancel()
	places, err := confirmSlot.Run(ctx, e.cfg.Redis, []string{addrKey, ipKey},
		responseID.String(), (2 * l.Window).Milliseconds()).Int64Slice()
	if err != nil || len(places) != 2 {
		return false, fmt.Errorf("confirmation limit: %w", cmp.Or(err, errors.New("unexpected answer")))
	}
	return places[0] < int64(l.PerAddress) && places[1] < int64(l.PerIP), nil
}

// clientKey names a client in a limit's key: an IPv4 address, or an IPv6
// address's /64, since one subscriber usually holds a whole /64.
func clientKey(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}
