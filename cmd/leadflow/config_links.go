package main

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"

	"leadflow/nurture"
)

// linkConfig is how long the links in emails work, and how many
// confirmation emails form posts may have sent.
type linkConfig struct {
	// LinkTTL is how long open, click and confirmation links work.
	LinkTTL time.Duration
	// UnsubscribeTTL is how long unsubscribe links work (at least a year).
	UnsubscribeTTL time.Duration
	// ConfirmPerAddress and ConfirmPerIP are the confirmation emails one
	// address gets, and one client's posts make, per hour; 0 is no limit.
	ConfirmPerAddress int
	ConfirmPerIP      int
}

// linkFlags registers the link and confirmation settings on fs, and returns
// the function that reads them after fs.Parse.
func linkFlags(fs *flag.FlagSet, env func(name, def string) string) func() (linkConfig, error) {
	var ttl, unsubscribe, perAddress, perIP string
	fs.StringVar(&ttl, "link-ttl", env("LEADFLOW_LINK_TTL", nurture.Duration(nurture.DefaultLinkTTL).String()),
		"how long tracking and confirmation links in emails work, e.g. 180d (LEADFLOW_LINK_TTL)")
	fs.StringVar(&unsubscribe, "unsubscribe-ttl", env("LEADFLOW_UNSUBSCRIBE_TTL", nurture.Duration(nurture.DefaultUnsubscribeTTL).String()),
		"how long unsubscribe links in emails work, at least 365d (LEADFLOW_UNSUBSCRIBE_TTL)")
	fs.StringVar(&perAddress, "confirm-limit-per-address", env("LEADFLOW_CONFIRM_LIMIT_PER_ADDRESS", strconv.Itoa(nurture.DefaultConfirmPerAddress)),
		"confirmation emails one address gets per hour; 0 for no limit (LEADFLOW_CONFIRM_LIMIT_PER_ADDRESS)")
	fs.StringVar(&perIP, "confirm-limit-per-ip", env("LEADFLOW_CONFIRM_LIMIT_PER_IP", strconv.Itoa(nurture.DefaultConfirmPerIP)),
		"confirmation emails one client IP's posts make per hour; 0 for no limit (LEADFLOW_CONFIRM_LIMIT_PER_IP)")
	return func() (linkConfig, error) {
		var (
			l    linkConfig
			errs []error
		)
		if d, err := nurture.ParseDuration(ttl); err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("link ttl %q: want a positive duration such as 180d", ttl))
		} else {
			l.LinkTTL = time.Duration(d)
		}
		if d, err := nurture.ParseDuration(unsubscribe); err != nil || time.Duration(d) < nurture.MinUnsubscribeTTL {
			errs = append(errs, fmt.Errorf("unsubscribe ttl %q: want at least 365d", unsubscribe))
		} else {
			l.UnsubscribeTTL = time.Duration(d)
		}
		var err error
		if l.ConfirmPerAddress, err = strconv.Atoi(perAddress); err != nil || l.ConfirmPerAddress < 0 {
			errs = append(errs, fmt.Errorf("confirm limit per address %q: want a whole number >= 0", perAddress))
		}
		if l.ConfirmPerIP, err = strconv.Atoi(perIP); err != nil || l.ConfirmPerIP < 0 {
			errs = append(errs, fmt.Errorf("confirm limit per ip %q: want a whole number >= 0", perIP))
		}
		return l, errors.Join(errs...)
	}
}

func (l linkConfig) String() string {
	return fmt.Sprintf("link_ttl=%s unsubscribe_ttl=%s confirm_limit=%d/address,%d/ip",
		nurture.Duration(l.LinkTTL), nurture.Duration(l.UnsubscribeTTL), l.ConfirmPerAddress, l.ConfirmPerIP)
}

// signer is the nurture token signer for these lifetimes.
func (l linkConfig) signer(secret string) (*nurture.Signer, error) {
	return nurture.NewSignerFrom(nurture.SignerConfig{Secret: secret, LinkTTL: l.LinkTTL, UnsubscribeTTL: l.UnsubscribeTTL})
}

// confirmLimit is nurture's limit: here 0 is no limit, there it is the
// default.
func (l linkConfig) confirmLimit() nurture.ConfirmLimit {
	off := func(n int) int {
		if n == 0 {
			return -1
		}
		return n
	}
	return nurture.ConfirmLimit{PerAddress: off(l.ConfirmPerAddress), PerIP: off(l.ConfirmPerIP)}
}
