package nurture

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// weekdays maps a send window's day names to Go's.
var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// NextSendTime returns the first moment at or after now that lies in the
// send window w, read in loc: now itself when it is in the window, else the
// window's next opening. An empty window is always open; a window without
// days is open every day, one without start or end from midnight or to
// midnight. Windows do not cross midnight (start is before end).
//
// Openings are wall-clock times, so they follow daylight saving: 09:00 in
// Europe/London is 09:00 GMT in winter and 09:00 BST in summer. An opening
// that falls in a spring-forward gap is the first instant after the gap.
// A window that cannot be read is treated as always open: validation keeps
// such windows out, and holding email forever would be the worse failure.
func NextSendTime(w SendWindow, loc *time.Location, now time.Time) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	days, start, end, err := w.parse()
	if err != nil {
		return now
	}
	local := now.In(loc)
	for d := 0; d <= 7; d++ {
		y, m, dd := local.Date()
		day := time.Date(y, m, dd+d, 12, 0, 0, 0, loc) // noon: a date, clear of DST gaps
		if days != nil && !days[day.Weekday()] {
			continue
		}
		open := wallClock(day, start, loc)
		shut := wallClock(day, end, loc)
		if d == 0 && !now.Before(open) && now.Before(shut) {
			return now
		}
		if now.Before(open) {
			return open
		}
	}
	return now // no day allowed: cannot happen after validation
}

// InSendWindow reports whether now is in the window.
func InSendWindow(w SendWindow, loc *time.Location, now time.Time) bool {
	return NextSendTime(w, loc, now).Equal(now)
}

// wallClock is minutes past midnight on day's date in loc. Go's time.Date
// puts a time in a spring-forward gap after the gap (02:30 on the day the
// clocks go from 02:00 to 03:00 is 03:30), which is what an opening wants.
func wallClock(day time.Time, minutes int, loc *time.Location) time.Time {
	y, m, d := day.Date()
	return time.Date(y, m, d, 0, minutes, 0, 0, loc)
}

// parse reads the window: the allowed days (nil for all), and start and end
// in minutes past midnight.
func (w SendWindow) parse() (days map[time.Weekday]bool, start, end int, err error) {
	if len(w.Days) > 0 {
		days = make(map[time.Weekday]bool, len(w.Days))
		for _, s := range w.Days {
			wd, ok := weekdays[strings.ToLower(strings.TrimSpace(s))]
			if !ok {
				return nil, 0, 0, fmt.Errorf("send window: unknown day %q", s)
			}
			days[wd] = true
		}
	}
	start, end = 0, 24*60
	if w.Start != "" {
		if start, err = parseClock(w.Start); err != nil {
			return nil, 0, 0, err
		}
	}
	if w.End != "" {
		if end, err = parseClock(w.End); err != nil {
			return nil, 0, 0, err
		}
	}
	if start >= end {
		return nil, 0, 0, fmt.Errorf("send window: start %q is not before end %q", w.Start, w.End)
	}
	return days, start, end, nil
}

// parseClock reads "HH:MM" (24-hour; "24:00" is the end of the day) as
// minutes past midnight.
func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hh < 0 || mm < 0 || mm > 59 || hh*60+mm > 24*60 {
		return 0, fmt.Errorf("send window: time %q: want HH:MM", s)
	}
	return hh*60 + mm, nil
}

// decodeSendWindow reads a sequence's stored window; {} or empty is always
// open.
func decodeSendWindow(raw json.RawMessage) SendWindow {
	var w SendWindow
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &w) // validated when stored; unreadable is always open
	}
	return w
}

// location is the lead's time zone when known and valid, else the
// sequence's, else UTC.
func location(leadTZ, sequenceTZ string) *time.Location {
	for _, name := range []string{leadTZ, sequenceTZ} {
		if name == "" {
			continue
		}
		if loc, err := time.LoadLocation(name); err == nil {
			return loc
		}
	}
	return time.UTC
}
