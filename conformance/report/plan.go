package report

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"github.com/civicport/civicport/conformance"
)

// Change is one capability's status on the source and the target of a
// switch.
type Change struct {
	Capability string             `json:"capability"`
	From       conformance.Status `json:"from"`
	To         conformance.Status `json:"to"`
	Detail     string             `json:"detail,omitempty"` // the target's detail where it does not pass
}

// Plan is what a switch from one backend to another would keep, lose and
// gain.
type Plan struct {
	From   string   `json:"from"`
	To     string   `json:"to"`
	Lost   []Change `json:"lost"`   // passes on From, does not pass on To
	Gained []Change `json:"gained"` // passes on To, did not pass on From
	Kept   []Change `json:"kept"`   // passes on both
	Other  []Change `json:"other"`  // passes on neither
}

// Losing reports whether the switch loses any capability the source has.
func (p *Plan) Losing() bool { return len(p.Lost) > 0 }

// Compare plans a switch from one backend's results to another's. A
// capability measured on only one side counts as skipped on the other.
func Compare(from, to Backend) *Plan {
	p := &Plan{From: from.URL, To: to.URL, Lost: []Change{}, Gained: []Change{}, Kept: []Change{}, Other: []Change{}}
	caps := map[string]bool{}
	for _, r := range from.Results {
		caps[r.Capability] = true
	}
	for _, r := range to.Results {
		caps[r.Capability] = true
	}
	names := make([]string, 0, len(caps))
	for c := range caps {
		names = append(names, c)
	}
	sort.Strings(names)
	status := func(b Backend, c string) conformance.Result {
		if r, ok := conformance.Find(b.Results, c); ok {
			return r
		}
		return conformance.Result{Capability: c, Status: conformance.Skipped, Detail: "not measured"}
	}
	for _, c := range names {
		f, t := status(from, c), status(to, c)
		ch := Change{Capability: c, From: f.Status, To: t.Status}
		if t.Status != conformance.Pass {
			ch.Detail = t.Detail
		}
		switch {
		case f.Status == conformance.Pass && t.Status == conformance.Pass:
			p.Kept = append(p.Kept, ch)
		case f.Status == conformance.Pass:
			p.Lost = append(p.Lost, ch)
		case t.Status == conformance.Pass:
			p.Gained = append(p.Gained, ch)
		default:
			p.Other = append(p.Other, ch)
		}
	}
	return p
}

// WriteText prints the plan for people: what is lost first.
func (p *Plan) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "switch %s\n    -> %s\n\n", p.From, p.To)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	section := func(title string, cs []Change) {
		fmt.Fprintf(tw, "%s (%d)\n", title, len(cs))
		for _, c := range cs {
			fmt.Fprintf(tw, "  %s\t%s -> %s\t%s\n", c.Capability, c.From, c.To, oneLine(c.Detail, 100))
		}
	}
	section("LOST: passes on the source, not on the target", p.Lost)
	section("gained", p.Gained)
	section("kept", p.Kept)
	section("neither", p.Other)
	return tw.Flush()
}
