package report

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/civicport/civicport/conformance"
)

// Formats accepted by Write.
var Formats = []string{"table", "json", "markdown", "junit"}

// Write renders r in format (one of Formats).
func Write(w io.Writer, r *Report, format string) error {
	switch format {
	case "table":
		return WriteTable(w, r)
	case "json":
		return WriteJSON(w, r)
	case "markdown":
		return WriteMarkdown(w, r)
	case "junit":
		return WriteJUnit(w, r)
	}
	return fmt.Errorf("unknown format %q; want one of %s", format, strings.Join(Formats, ", "))
}

// WriteJSON writes r as one indented JSON document.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// oneLine shortens a detail to one line for tables.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		s = s[:max-3] + "..."
	}
	return s
}

func summary(res []conformance.Result) string {
	c := conformance.Count(res)
	return fmt.Sprintf("%d pass, %d fail, %d unsupported, %d skipped",
		c[conformance.Pass], c[conformance.Fail], c[conformance.Unsupported], c[conformance.Skipped])
}

// WriteTable writes an aligned table per backend for people, with a one-line
// reason for every result that is not a pass.
func WriteTable(w io.Writer, r *Report) error {
	for i, b := range r.Backends {
		if i > 0 {
			fmt.Fprintln(w)
		}
		name := b.URL
		if b.Via != "" {
			name += " via " + b.Via
		}
		fmt.Fprintf(w, "%s  (%s, %s, %s)\n", name, b.Kind, summary(b.Results), b.Duration.Round(time.Millisecond))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, res := range b.Results {
			reason := ""
			if res.Status != conformance.Pass {
				reason = oneLine(res.Detail, 110)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", res.Capability, res.Status, reason)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// mdEscape keeps a table cell on one line and free of column breaks.
func mdEscape(s string) string {
	return strings.ReplaceAll(oneLine(s, 300), "|", `\|`)
}

// WriteMarkdown writes a capability matrix (capabilities by backend) and
// then the reasons for every non-pass, for reports and docs.
func WriteMarkdown(w io.Writer, r *Report) error {
	var caps []string
	seen := map[string]bool{}
	for _, b := range r.Backends {
		for _, res := range b.Results {
			if !seen[res.Capability] {
				seen[res.Capability] = true
				caps = append(caps, res.Capability)
			}
		}
	}
	fmt.Fprint(w, "| capability |")
	for _, b := range r.Backends {
		fmt.Fprintf(w, " %s |", mdEscape(b.URL))
	}
	fmt.Fprint(w, "\n|---|")
	for range r.Backends {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w)
	for _, c := range caps {
		fmt.Fprintf(w, "| `%s` |", c)
		for _, b := range r.Backends {
			st := "-"
			if res, ok := conformance.Find(b.Results, c); ok {
				st = string(res.Status)
			}
			fmt.Fprintf(w, " %s |", st)
		}
		fmt.Fprintln(w)
	}
	first := true
	for _, b := range r.Backends {
		for _, res := range b.Results {
			if res.Status == conformance.Pass || res.Detail == "" {
				continue
			}
			if first {
				fmt.Fprint(w, "\n**Why not pass**\n\n")
				first = false
			}
			fmt.Fprintf(w, "- %s `%s` %s: %s\n", mdEscape(b.URL), res.Capability, res.Status, mdEscape(res.Detail))
		}
	}
	return nil
}

// JUnit XML, the subset CI systems read.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// WriteJUnit writes one testsuite per backend and one testcase per
// capability: fail becomes a failure, unsupported and skipped become skipped
// with the reason.
func WriteJUnit(w io.Writer, r *Report) error {
	var out junitSuites
	for _, b := range r.Backends {
		s := junitSuite{Name: b.Kind + " " + b.URL, Time: seconds(b.Duration)}
		for _, res := range b.Results {
			c := junitCase{Name: res.Capability, Classname: "civicport.conform." + b.Kind, Time: seconds(res.Duration)}
			switch res.Status {
			case conformance.Fail:
				c.Failure = &junitMessage{Message: oneLine(res.Detail, 200), Body: res.Detail}
				s.Failures++
			case conformance.Unsupported, conformance.Skipped:
				c.Skipped = &junitMessage{Message: string(res.Status) + ": " + oneLine(res.Detail, 200)}
				s.Skipped++
			}
			s.Tests++
			s.Cases = append(s.Cases, c)
		}
		out.Tests += s.Tests
		out.Failures += s.Failures
		out.Skipped += s.Skipped
		out.Suites = append(out.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
