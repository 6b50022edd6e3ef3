package gateway

import "testing"

func TestCleanName(t *testing.T) {
	for _, tc := range []struct {
		name, raw, want string
		ok              bool
	}{
		{"plain", "  Ada  ", "Ada", true},
		{"accents and emoji", "Zoë 🦊", "Zoë 🦊", true},
		{"right-to-left script", "مرحبا", "مرحبا", true},
		{"joined emoji", "👩\u200d🚀", "👩\u200d🚀", true},
		{"invalid utf-8", "Ada\xff", "", false},
		{"replacement char from the json decoder", "Ada\uFFFD", "", false},
		{"right-to-left override", "Ada\u202Egnp.exe", "", false},
		{"isolate", "\u2067Ada", "", false},
		{"left-to-right mark", "Ada\u200E", "", false},
		{"zero-width only", "\u200B\u200C\u200D\uFEFF", "", false},
		{"word joiner and space", "\u2060 \u2060", "", false},
		{"hangul filler", "\u3164\u3164", "", false},
		{"combining marks only", "\u0301\u0301", "", false},
		{"control", "a\u0007b", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, e := cleanName(tc.raw)
			if tc.ok != (e == nil) || got != tc.want {
				t.Fatalf("cleanName(%q) = %q, %v; want %q ok=%v", tc.raw, got, e, tc.want, tc.ok)
			}
			if e != nil && e.Code != "bad_name" {
				t.Fatalf("code %q, want bad_name", e.Code)
			}
		})
	}
}
