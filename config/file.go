package config

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The config file is parsed twice: viper reads the values, and a yaml.Node
// tree keeps their lines, so that errors point at the line to fix.

// parseYAML returns the top-level mapping of a config file, or nil when the
// file holds no document.
func parseYAML(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	root := resolve(doc.Content[0])
	if isNull(root) {
		return nil, nil
	}
	if root.Kind != yaml.MappingNode {
		// Worded like the YAML parser's errors, for fileError.
		return nil, fmt.Errorf("yaml: line %d: the top level must be a mapping of keys, like the example", root.Line)
	}
	return root, nil
}

// yamlLineRE matches the YAML parser's "yaml: line 3: did not find ...".
var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// fileError says which file a parse error is in, as "arena.yaml:3: ..." when
// the error knows its line.
func fileError(file string, err error) error {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("%s:%s: %s", file, m[1], m[2])
	}
	return fmt.Errorf("%s: %w", file, err)
}

func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// isNull reports an empty value ("key:" alone), which leaves the default.
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// checkNode checks the tree under n against t, the Go type it decodes into:
// every key known, nothing duplicated, every value of the right shape. It
// finds what decoding would, but can say where.
func checkNode(n *yaml.Node, t reflect.Type, path string) *FieldError {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	at := func(line int, field, format string, args ...any) *FieldError {
		err := fieldErr(field, format, args...)
		err.Line = line
		return err
	}
	switch {
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return at(n.Line, path, "must be a mapping of keys")
		}
		fields := fieldsByKey(t)
		seen := make(map[string]int) // key -> line of its first occurrence
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Tag == "!!merge" { // "<<: *anchor" merges another mapping's keys
				if err := checkMerge(v, t, path); err != nil {
					return err
				}
				continue
			}
			// Viper ignores the case of keys; so do we.
			name := strings.ToLower(k.Value)
			field := joinKey(path, k.Value)
			if first, dup := seen[name]; dup {
				return at(k.Line, field, "duplicate key (first at line %d)", first)
			}
			seen[name] = k.Line
			f, ok := fields[name]
			if !ok {
				return at(k.Line, field, "unknown field")
			}
			if err := checkNode(v, f.Type, field); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Slice:
		switch {
		case n.Kind == yaml.SequenceNode:
			for i, item := range n.Content {
				if err := checkNode(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
		case n.Kind == yaml.ScalarNode && t.Elem().Kind() == reflect.String:
			// A comma-separated list, as in the environment.
		default:
			return at(n.Line, path, "must be a list")
		}
	default:
		if n.Kind != yaml.ScalarNode {
			return at(n.Line, path, "must be a single value, not a list or mapping")
		}
		if problem := checkText(t, n.Value, n.Tag); problem != "" {
			return at(n.Line, path, "%s", problem)
		}
	}
	return nil
}

// checkMerge checks the mapping, or list of mappings, of a "<<" key.
func checkMerge(v *yaml.Node, t reflect.Type, path string) *FieldError {
	v = resolve(v)
	if v.Kind == yaml.SequenceNode {
		for _, m := range v.Content {
			if err := checkNode(m, t, path); err != nil {
				return err
			}
		}
		return nil
	}
	return checkNode(v, t, path)
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// lineOf finds the line of a field such as "robots[2].delay.min" under root.
// When the field itself is not in the file (it kept its default), the line
// of its nearest enclosing key or item is the best hint; ok is false only
// when nothing on the path is in the file.
func lineOf(root *yaml.Node, field string) (line int, ok bool) {
	n := root
	for _, step := range pathSteps(field) {
		n = resolve(n)
		var next *yaml.Node
		switch {
		case step.index >= 0 && n.Kind == yaml.SequenceNode && step.index < len(n.Content):
			next = n.Content[step.index]
			line = resolve(next).Line
		case step.index < 0 && n.Kind == yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if strings.EqualFold(n.Content[i].Value, step.key) {
					next, line = n.Content[i+1], n.Content[i].Line
				}
			}
		}
		if next == nil {
			break
		}
		n, ok = next, true
	}
	return line, ok
}

// pathStep is a key (index < 0) or a list index of a field path.
type pathStep struct {
	key   string
	index int
}

// pathSteps splits "robots[2].delay" into robots, [2], delay.
func pathSteps(field string) []pathStep {
	var steps []pathStep
	for part := range strings.SplitSeq(field, ".") {
		key, rest, _ := strings.Cut(part, "[")
		if key != "" {
			steps = append(steps, pathStep{key: key, index: -1})
		}
		for rest != "" {
			num, after, _ := strings.Cut(rest, "]")
			i, err := strconv.Atoi(num)
			if err != nil {
				break
			}
			steps = append(steps, pathStep{index: i})
			_, rest, _ = strings.Cut(after, "[")
		}
	}
	return steps
}
