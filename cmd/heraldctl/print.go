package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/herald-im/herald/ring"
)

// table writes aligned columns; flush it once all rows are in.
func table(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func printMembers(w io.Writer, st ring.Status) error {
	tw := table(w)
	fmt.Fprintln(tw, "NAME\tSTATE\tRING\tADDRESS\tHEALTH")
	for _, m := range st.Members {
		inRing := "no"
		switch {
		case m.Removed:
			inRing = "removed"
		case m.InRing:
			inRing = "yes"
		}
		name := m.Name
		if name == st.Self {
			name += " (self)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, m.State, inRing, orDash(m.Address),
			orDash(m.Health))
	}
	return tw.Flush()
}

func printRing(w io.Writer, st ring.Status) error {
	state := "stable"
	if !st.Stable {
		state = "migrating from " + strings.Join(nodeNames(st.Previous), ", ")
	}
	fmt.Fprintf(w, "epoch %d, %s\n", st.Epoch, state)

	tw := table(w)
	fmt.Fprintln(tw, "NODE\tADDRESS\tSTATE\tDONE")
	for _, m := range st.Ring {
		done := "no"
		if m.Done {
			done = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Name, orDash(m.Address), m.State, done)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	if len(st.Tombstones) > 0 {
		removed := make([]string, 0, len(st.Tombstones))
		for name, epoch := range st.Tombstones {
			removed = append(removed, fmt.Sprintf("%s (epoch %d)", name, epoch))
		}
		slices.Sort(removed)
		fmt.Fprintf(w, "removed: %s\n", strings.Join(removed, ", "))
	}
	return nil
}

func printHealth(w io.Writer, st ring.Status) error {
	tw := table(w)
	fmt.Fprintln(tw, "NAME\tSTATE\tHEALTH")
	for _, m := range st.Members {
		if m.Removed {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", m.Name, m.State, orDash(m.Health))
	}
	return tw.Flush()
}

// unready lists the ring nodes whose health is not "ready".
func unready(st ring.Status) []string {
	var bad []string
	for _, m := range st.Ring {
		if m.Health != "ready" {
			bad = append(bad, m.Name+" ("+orDash(m.Health)+")")
		}
	}
	return bad
}

func nodeNames(nodes []ring.Node) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Name
	}
	return out
}
