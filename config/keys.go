package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// The key schema is read from Config's mapstructure tags, so a field added
// to Config is at once a file key, an ARENA_* variable and a default.

var durationType = reflect.TypeFor[time.Duration]()

// keyName is a field's key: its mapstructure tag, or "" to skip it.
func keyName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	if name == "" {
		name = strings.ToLower(f.Name)
	}
	return name
}

// fieldsByKey maps the keys of a struct type to its fields.
func fieldsByKey(t reflect.Type) map[string]reflect.StructField {
	m := make(map[string]reflect.StructField, t.NumField())
	for i := range t.NumField() {
		if f := t.Field(i); keyName(f) != "" {
			m[keyName(f)] = f
		}
	}
	return m
}

// forEachLeaf calls fn with the dotted key and value of every leaf of v, a
// struct: every field that is not itself a struct (lists are leaves).
func forEachLeaf(v reflect.Value, prefix string, fn func(key string, v reflect.Value)) {
	t := v.Type()
	for i := range t.NumField() {
		name := keyName(t.Field(i))
		if name == "" {
			continue
		}
		key := prefix + name
		if f := v.Field(i); f.Kind() == reflect.Struct {
			forEachLeaf(f, key+".", fn)
		} else {
			fn(key, f)
		}
	}
}

// generic turns a value into what a parsed config file holds, maps keyed by
// the mapstructure tags, so it can be a viper default that decodes (and is
// checked for unused keys) like the file's own values.
func generic(v reflect.Value) any {
	switch {
	case v.Kind() == reflect.Struct:
		m := make(map[string]any, v.NumField())
		for i := range v.NumField() {
			if name := keyName(v.Type().Field(i)); name != "" {
				m[name] = generic(v.Field(i))
			}
		}
		return m
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
		s := make([]any, v.Len())
		for i := range v.Len() {
			s[i] = generic(v.Index(i))
		}
		return s
	default:
		return v.Interface()
	}
}

// envName is the environment variable of a key: game.answer_window is
// ARENA_GAME_ANSWER_WINDOW.
func envName(key string) string {
	return "ARENA_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// checkText says what is wrong with s as a value of type t, or "" if it
// decodes. yamlTag is the YAML node's resolved tag ("!!int", ...), or "" for
// text from the environment or a flag.
func checkText(t reflect.Type, s, yamlTag string) string {
	numeric := yamlTag == "!!int" || yamlTag == "!!float"
	switch {
	case t == durationType:
		if numeric {
			if s == "0" {
				return ""
			}
			// A bare number would decode as nanoseconds: surely a mistake.
			return fmt.Sprintf("invalid duration %q (missing unit, e.g. \"%ss\")", s, s)
		}
		if _, err := time.ParseDuration(strings.TrimSpace(s)); err != nil {
			return fmt.Sprintf("invalid duration %q", s)
		}
	case t.Kind() == reflect.Bool:
		if _, err := strconv.ParseBool(strings.TrimSpace(s)); err != nil {
			return fmt.Sprintf("invalid boolean %q (want true or false)", s)
		}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		if yamlTag == "!!int" {
			return ""
		}
		if _, err := strconv.ParseInt(strings.TrimSpace(s), 0, t.Bits()); err != nil {
			return fmt.Sprintf("invalid integer %q", s)
		}
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		if numeric {
			return ""
		}
		if _, err := strconv.ParseFloat(strings.TrimSpace(s), t.Bits()); err != nil {
			return fmt.Sprintf("invalid number %q", s)
		}
	case t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.String:
		// Only lists of strings have a text form (comma-separated).
		return "cannot be given as text; set it in the config file"
	}
	return ""
}

// decodeHook converts text, from the environment, a flag or a quoted YAML
// value, into durations and lists. It replaces viper's default hooks so
// that list items are trimmed: ARENA_KAFKA_BROKERS="b1:9092, b2:9092".
func decodeHook(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String {
		return data, nil
	}
	s := reflect.ValueOf(data).String()
	switch {
	case to == durationType:
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("invalid duration %q", s)
		}
		return d, nil
	case to.Kind() == reflect.Slice && to.Elem().Kind() == reflect.String:
		return splitList(s), nil
	}
	return data, nil
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var items []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	return items
}
