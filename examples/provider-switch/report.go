package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/civicport/civicport/conformance/report"
	"github.com/civicport/civicport/internal/bytesize"
)

// Print writes the report for people.
func (r *Report) Print(w io.Writer) {
	var names []string
	for _, s := range r.Stacks {
		names = append(names, s.Name)
	}
	fmt.Fprintf(w, "civicport provider switch: %s\n\nStacks:\n", strings.Join(names, " -> "))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i, s := range r.Stacks {
		fmt.Fprintf(tw, "  %d\t%s\t%s\tbucket %s\n", i+1, s.Name, s.Profile, s.Bucket)
		fmt.Fprintf(tw, "  \t\t\tkeys   %s\n  \t\t\tqueue  %s\n", s.Keeper, s.Topic)
	}
	tw.Flush()
	fmt.Fprintln(w)
	printChecks(w, "Seed", r.Seed)
	for i, h := range r.Hops {
		fmt.Fprintf(w, "Hop %d: %s -> %s (%s)\n", i+1, h.From, h.To, h.Duration.Round(time.Millisecond))
		if h.Plan != nil {
			fmt.Fprintf(w, "  kept     %s\n", capNames(h.Plan.Kept))
			fmt.Fprintf(w, "  lost     %s\n", capNames(h.Plan.Lost))
			fmt.Fprintf(w, "  gained   %s\n", capNames(h.Plan.Gained))
			fmt.Fprintf(w, "  neither  %s\n", capNames(h.Plan.Other))
		}
		printChecks(w, "", h.Checks)
	}
	if len(r.Final) > 0 {
		printChecks(w, "On the last stack, "+r.Stacks[len(r.Stacks)-1].Name, r.Final)
	}
	fmt.Fprintln(w, "Summary:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "hop\tfrom -> to\tkept\tlost\tobjects\tbytes\tverified\trewrapped\tmessages\taudit entries\tchecks\ttime\t\n")
	for i, h := range r.Hops {
		kept, lost := "-", "-"
		if h.Plan != nil {
			kept, lost = fmt.Sprint(len(h.Plan.Kept)), fmt.Sprint(len(h.Plan.Lost))
		}
		passed := 0
		for _, c := range h.Checks {
			if c.OK {
				passed++
			}
		}
		fmt.Fprintf(tw, "%d\t%s -> %s\t%s\t%s\t%d\t%s\t%d\t%d\t%d\t%d\t%d/%d ok\t%s\t\n", i+1, h.From, h.To, kept, lost,
			h.Objects, bytesize.String(h.Bytes), h.Verified, h.Rewrapped, h.Messages, h.AuditEntries, passed, len(h.Checks), h.Duration.Round(time.Millisecond))
	}
	tw.Flush()
	verdict := "PASS"
	if !r.OK() {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "\n%s: %d records (%s) moved over %d hops; %d readable with the last stack's key only (%d earlier keys refused); %d results delivered once (%d replay dropped, %d forgery quarantined); audit log verified: %v; %s\n",
		verdict, r.Records, bytesize.String(r.RecordBytes), len(r.Hops), r.ReadableWithLastKey, r.EarlierKeysRefused, r.Delivered, r.Duplicates, r.Quarantined, r.AuditOK, r.Elapsed.Round(time.Millisecond))
}

func printChecks(w io.Writer, title string, cs []Check) {
	if title != "" {
		fmt.Fprintf(w, "%s\n", title)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range cs {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", mark(c.OK), c.Name, c.Duration.Round(time.Millisecond), c.Detail)
	}
	tw.Flush()
	fmt.Fprintln(w)
}

func mark(ok bool) string {
	if ok {
		return "ok"
	}
	return "FAIL"
}

func capNames(cs []report.Change) string {
	if len(cs) == 0 {
		return "(none)"
	}
	var names []string
	for _, c := range cs {
		names = append(names, strings.TrimPrefix(c.Capability, "blob."))
	}
	return fmt.Sprintf("%d: %s", len(cs), strings.Join(names, ", "))
}
