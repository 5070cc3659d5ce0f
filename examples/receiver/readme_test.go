package main

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// readmeMarker introduces README's table of the receiver's variables.
const readmeMarker = "<!-- receiver-variables -->"

// readmeVariables returns the rows of README's receiver table: each
// variable with the first `code` of its default cell, "" for "empty".
func readmeVariables(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatalf("read README.md: %v", err)
	}
	_, table, ok := strings.Cut(string(b), readmeMarker+"\n")
	if !ok {
		t.Fatalf("README.md has no %s", readmeMarker)
	}
	rows := map[string]string{}
	for i, line := range strings.Split(table, "\n") {
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(line, "|")
		if i < 2 || len(cells) < 4 { // the header and its rule
			continue
		}
		name := strings.Trim(strings.TrimSpace(cells[1]), "`")
		def := ""
		if f := strings.Split(cells[2], "`"); len(f) >= 3 {
			def = f[1]
		}
		rows[name] = def
	}
	if len(rows) == 0 {
		t.Fatalf("no table after %s in README.md", readmeMarker)
	}
	return rows
}

// TestREADMEListsTheVariables holds README's table to the receiver: a row
// for every variable it reads and for no other, each default the one the
// receiver takes when the variable is unset. The package comment must
// name each one too.
func TestREADMEListsTheVariables(t *testing.T) {
	read := map[string]bool{}
	unset, err := loadConfig(func(name string) string { read[name] = true; return "" })
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	rows := readmeVariables(t)
	doc, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	comment, _, _ := strings.Cut(string(doc), "package main")
	for name := range read {
		if _, ok := rows[name]; !ok {
			t.Errorf("README's receiver table has no row for %s", name)
		}
		if !strings.Contains(comment, "//\t"+name+" ") {
			t.Errorf("the package comment does not describe %s", name)
		}
	}
	for name, def := range rows {
		if !read[name] {
			t.Errorf("README's receiver table lists %s, which the receiver does not read", name)
			continue
		}
		got, err := loadConfig(func(n string) string {
			if n == name {
				return def
			}
			return ""
		})
		if err != nil || !reflect.DeepEqual(got, unset) {
			t.Errorf("README gives %s the default %q, which is not the receiver's (err %v)", name, def, err)
		}
	}
}
