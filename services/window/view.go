package window

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// View is a longer view over finished windows: every Every, the windows of
// the last Span merged, never a second pass over events. Every == Span is a
// tumbling view (an hour, a day: aligned to UTC like the windows), Every <
// Span a sliding one (the last hour, every window).
type View struct {
	Span  time.Duration
	Every time.Duration
}

// String returns the view as ParseViews reads it.
func (v View) String() string {
	if v.Every == v.Span {
		return ShortDuration(v.Span)
	}
	return ShortDuration(v.Span) + "/" + ShortDuration(v.Every)
}

// ShortDuration writes d as configuration writes it: time.Duration.String
// without its zero units ("1h", not "1h0m0s").
func ShortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// DefaultViews are the views of windows of size: an hour and a day, and
// the last hour at every window, those of them that are longer than a
// window and made of whole windows.
func DefaultViews(size time.Duration) []View {
	var out []View
	for _, v := range []View{{time.Hour, time.Hour}, {24 * time.Hour, 24 * time.Hour}, {time.Hour, size}} {
		if v.check(size) == nil {
			out = append(out, v)
		}
	}
	return out
}

// ParseViews reads views written SPAN (tumbling) or SPAN/EVERY (sliding),
// comma separated, in Go's duration syntax ("1h, 24h, 1h/5m"), each made
// of whole windows of size. "" and "none" are no views.
func ParseViews(s string, size time.Duration) ([]View, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "none" {
		return nil, nil
	}
	var out []View
	seen := map[View]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		span, every, sliding := strings.Cut(f, "/")
		var v View
		var err error
		if v.Span, err = time.ParseDuration(strings.TrimSpace(span)); err != nil {
			return nil, fmt.Errorf("view %q: span: %w", f, err)
		}
		v.Every = v.Span
		if sliding {
			if v.Every, err = time.ParseDuration(strings.TrimSpace(every)); err != nil {
				return nil, fmt.Errorf("view %q: every: %w", f, err)
			}
		}
		if err := v.check(size); err != nil {
			return nil, fmt.Errorf("view %q: %w", f, err)
		}
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out, nil
}

func (v View) check(size time.Duration) error {
	sz := ShortDuration(size)
	switch {
	case size <= 0:
		return fmt.Errorf("window size %s is not positive", sz)
	case v.Span <= size:
		return fmt.Errorf("span %s is not longer than the window size %s", ShortDuration(v.Span), sz)
	case v.Span%size != 0:
		return fmt.Errorf("span %s is not a whole number of %s windows", ShortDuration(v.Span), sz)
	case v.Every <= 0 || v.Every > v.Span:
		return fmt.Errorf("every %s is not between 0 and the span %s", ShortDuration(v.Every), ShortDuration(v.Span))
	case v.Every%size != 0:
		return fmt.Errorf("every %s is not a whole number of %s windows", ShortDuration(v.Every), sz)
	}
	return nil
}

// Containing returns the keys of the instances of v that hold window k:
// those that end at a multiple of Every, at or after k's end, and start at
// or before k's start.
func (v View) Containing(k Key) []Key {
	if v.Every <= 0 || v.Span <= 0 {
		return nil
	}
	end := k.End.UTC().Truncate(v.Every)
	if end.Before(k.End) {
		end = end.Add(v.Every)
	}
	var out []Key
	for ; !end.Add(-v.Span).After(k.Start); end = end.Add(v.Every) {
		vk := k
		vk.Start, vk.End = end.Add(-v.Span), end
		out = append(out, vk)
	}
	return out
}

// ViewKey is an instance of a view of one series: Key spans it, and
// Window is the size of the windows it merges (the store may hold windows
// of another size for the same time, from before a change of window size).
type ViewKey struct {
	Key
	Window time.Duration
}

// touch notes the view instances holding a window that just went out; pp
// is the partials partition the window's partials arrive on.
func (l *Level2) touch(k Key, pp int32) {
	for _, v := range l.views {
		for _, vk := range v.Containing(k) {
			l.pending[ViewKey{Key: vk, Window: k.End.Sub(k.Start)}] = pp
		}
	}
}

// Views returns the view instances to compute, oldest end first: those a
// window that went out (first, or revised) belongs to, once every source
// partition's watermark has passed their end plus the allowed lateness, as
// for a window. Their windows are then finished, except ones no partial
// reached yet; one that a late partial finishes later goes out and touches
// the instance again. Level 2 keeps only the instances still to compute:
// after a restart an instance is computed again when a window of it goes
// out again, so consumers read the windows of an instance from the store
// of finished windows, not from memory.
func (l *Level2) Views(now time.Time) []ViewKey {
	var out []ViewKey
	for vk, pp := range l.pending {
		if l.passed(pp, vk.End.Add(l.lateness), now) {
			out = append(out, vk)
			delete(l.pending, vk)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.End.Equal(b.End) {
			return a.End.Before(b.End)
		}
		if !a.Start.Equal(b.Start) {
			return a.Start.Before(b.Start)
		}
		if a.Window != b.Window {
			return a.Window < b.Window
		}
		return a.ModelID+"\x00"+a.ModelVersion+"\x00"+a.Variant+"\x00"+a.Segment <
			b.ModelID+"\x00"+b.ModelVersion+"\x00"+b.Variant+"\x00"+b.Segment
	})
	return out
}
