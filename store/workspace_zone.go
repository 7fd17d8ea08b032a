package store

import "time"

// Zone is the time zone the workspace's days are counted in, and whether
// its Timezone names one this system knows: UTC otherwise. Every "today"
// (the console's intake, assignment's daily caps) starts at this zone's
// midnight.
func (s WorkspaceSettings) Zone() (*time.Location, bool) {
	if s.Timezone == "" {
		return time.UTC, false
	}
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		return time.UTC, false
	}
	return loc, true
}

// DayStart is the midnight, in the workspace's zone, that began t's day.
func (s WorkspaceSettings) DayStart(t time.Time) time.Time {
	loc, _ := s.Zone()
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}
