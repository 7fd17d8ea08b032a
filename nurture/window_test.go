package nurture

import (
	"testing"
	"time"
)

func TestNextSendTime(t *testing.T) {
	t.Parallel()
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	at := func(loc *time.Location, s string) time.Time {
		t.Helper()
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	weekdays := SendWindow{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "09:00", End: "17:00"}
	// 2026-03-27 is a Friday; London's clocks go forward (01:00 GMT ->
	// 02:00 BST) on Sunday 2026-03-29 and back on Sunday 2026-10-25.
	tests := []struct {
		name string
		w    SendWindow
		loc  *time.Location
		now  time.Time
		want time.Time
	}{
		{"empty window is always open", SendWindow{}, london, at(london, "2026-03-28 03:00"), at(london, "2026-03-28 03:00")},
		{"inside the window", weekdays, london, at(london, "2026-03-27 12:00"), at(london, "2026-03-27 12:00")},
		{"at the opening", weekdays, london, at(london, "2026-03-27 09:00"), at(london, "2026-03-27 09:00")},
		{"before the opening", weekdays, london, at(london, "2026-03-27 06:30"), at(london, "2026-03-27 09:00")},
		{"at the close waits for the next day", weekdays, london, at(london, "2026-03-26 17:00"), at(london, "2026-03-27 09:00")},
		{"friday evening waits for monday", weekdays, london, at(london, "2026-03-27 18:00"), at(london, "2026-03-30 09:00")},
		{"across spring forward monday is 09:00 BST", weekdays, london, at(london, "2026-03-28 10:00"),
			time.Date(2026, 3, 30, 8, 0, 0, 0, time.UTC)},
		{"across fall back monday is 09:00 GMT", weekdays, london, at(london, "2026-10-24 10:00"),
			time.Date(2026, 10, 26, 9, 0, 0, 0, time.UTC)},
		{"an opening in the spring-forward gap is after the gap",
			SendWindow{Days: []string{"sun"}, Start: "01:30", End: "05:00"}, london, at(london, "2026-03-28 12:00"),
			time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)},
		{"days only: any hour of those days", SendWindow{Days: []string{"sat"}}, london, at(london, "2026-03-27 23:59"),
			at(london, "2026-03-28 00:00")},
		{"hours only: every day", SendWindow{Start: "08:00", End: "20:00"}, london, at(london, "2026-03-28 21:00"),
			at(london, "2026-03-29 08:00")},
		{"until 24:00 means the end of the day", SendWindow{Start: "22:00", End: "24:00"}, london, at(london, "2026-03-27 23:30"),
			at(london, "2026-03-27 23:30")},
		{"the window is read in the given zone", weekdays, newYork, time.Date(2026, 3, 27, 14, 0, 0, 0, time.UTC),
			at(newYork, "2026-03-27 10:00")},
		{"a week ahead at most", SendWindow{Days: []string{"fri"}, Start: "09:00", End: "10:00"}, london, at(london, "2026-03-27 10:00"),
			at(london, "2026-04-03 09:00")},
		{"an unreadable window is open", SendWindow{Days: []string{"someday"}}, london, at(london, "2026-03-27 10:00"),
			at(london, "2026-03-27 10:00")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := NextSendTime(tt.w, tt.loc, tt.now)
			if !got.Equal(tt.want) {
				t.Errorf("NextSendTime(%+v, %s, %s) = %s, want %s", tt.w, tt.loc, tt.now, got, tt.want)
			}
			if in := InSendWindow(tt.w, tt.loc, tt.now); in != tt.now.Equal(tt.want) {
				t.Errorf("InSendWindow = %v", in)
			}
		})
	}
}

func TestLocationPrefersTheLeadsZone(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ lead, seq, want string }{
		{"Asia/Tokyo", "Europe/London", "Asia/Tokyo"},
		{"", "Europe/London", "Europe/London"},
		{"Not/AZone", "Europe/London", "Europe/London"},
		{"", "", "UTC"},
	} {
		if got := location(tt.lead, tt.seq).String(); got != tt.want {
			t.Errorf("location(%q, %q) = %s, want %s", tt.lead, tt.seq, got, tt.want)
		}
	}
}
