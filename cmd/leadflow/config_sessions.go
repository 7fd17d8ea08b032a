package main

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"

	"leadflow/embed/console"
	"leadflow/nurture"
)

// sessionConfig is how long console sessions last.
type sessionConfig struct {
	// Idle ends a session unused for this long; Max ends any session this
	// long after sign-in.
	Idle, Max time.Duration
	// AttemptsPerAddress and AttemptsPerIP bound sign-in attempts (passwords,
	// link and reset requests) per 15 minutes.
	AttemptsPerAddress, AttemptsPerIP int
}

// sessionFlags registers the session settings on fs, and returns the
// function that reads them after fs.Parse.
func sessionFlags(fs *flag.FlagSet, env func(name, def string) string) func() (sessionConfig, error) {
	var idle, maxAge, perAddress, perIP string
	fs.StringVar(&idle, "session-idle", env("LEADFLOW_SESSION_IDLE", nurture.Duration(console.DefaultSessionIdle).String()),
		"console sessions unused for this long end, e.g. 12h (LEADFLOW_SESSION_IDLE)")
	fs.StringVar(&maxAge, "session-max", env("LEADFLOW_SESSION_MAX", nurture.Duration(console.DefaultSessionMax).String()),
		"console sessions end this long after sign-in whatever their use, e.g. 7d (LEADFLOW_SESSION_MAX)")
	fs.StringVar(&perAddress, "signin-limit-per-address", env("LEADFLOW_SIGNIN_LIMIT_PER_ADDRESS", strconv.Itoa(console.DefaultAttemptsPerAddress)),
		"sign-in attempts one email address may make per 15 minutes (LEADFLOW_SIGNIN_LIMIT_PER_ADDRESS)")
	fs.StringVar(&perIP, "signin-limit-per-ip", env("LEADFLOW_SIGNIN_LIMIT_PER_IP", strconv.Itoa(console.DefaultAttemptsPerIP)),
		"sign-in attempts one client IP may make per 15 minutes (LEADFLOW_SIGNIN_LIMIT_PER_IP)")
	return func() (sessionConfig, error) {
		var s sessionConfig
		var errs []error
		if d, err := nurture.ParseDuration(idle); err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("session idle %q: want a positive duration such as 12h", idle))
		} else {
			s.Idle = time.Duration(d)
		}
		if d, err := nurture.ParseDuration(maxAge); err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("session max %q: want a positive duration such as 7d", maxAge))
		} else {
			s.Max = time.Duration(d)
		}
		var err error
		if s.AttemptsPerAddress, err = strconv.Atoi(perAddress); err != nil || s.AttemptsPerAddress < 1 {
			errs = append(errs, fmt.Errorf("sign-in limit per address %q: want a whole number >= 1", perAddress))
		}
		if s.AttemptsPerIP, err = strconv.Atoi(perIP); err != nil || s.AttemptsPerIP < 1 {
			errs = append(errs, fmt.Errorf("sign-in limit per ip %q: want a whole number >= 1", perIP))
		}
		if len(errs) == 0 && s.Idle > s.Max {
			errs = append(errs, fmt.Errorf("session idle (%s) must not exceed session max (%s)", idle, maxAge))
		}
		return s, errors.Join(errs...)
	}
}

func (s sessionConfig) String() string {
	return fmt.Sprintf("session_idle=%s session_max=%s signin_limit=%d/address,%d/ip",
		nurture.Duration(s.Idle), nurture.Duration(s.Max), s.AttemptsPerAddress, s.AttemptsPerIP)
}
