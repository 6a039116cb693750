package pipeline

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FieldError names what is wrong in a configuration: the stage, the field,
// the offending value and, when it came from YAML, the file and line.
type FieldError struct {
	File   string
	Line   int
	Stage  string
	Field  string
	Value  string
	Reason string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Stage != "" {
		fmt.Fprintf(&b, "stage %s: ", e.Stage)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, "field %s: ", e.Field)
	}
	if e.Value != "" {
		fmt.Fprintf(&b, "value %q: ", e.Value)
	}
	b.WriteString(e.Reason)
	return b.String()
}

// InFile attaches a file name to a configuration error: a *FieldError gets
// it as its File, anything else is prefixed with it.
func InFile(err error, file string) error {
	var fe *FieldError
	if errors.As(err, &fe) {
		c := *fe
		c.File = file
		return &c
	}
	return fmt.Errorf("%s: %w", file, err)
}

// DecodeStrict decodes node into out (a pointer to a struct holding
// defaults), rejecting fields the struct does not have, then validates it if
// it has a Validate method. Errors are *FieldError naming field, value and
// line.
func DecodeStrict(node *yaml.Node, out any) error {
	if node == nil || node.Kind == 0 {
		return validate(out)
	}
	if node.Kind == yaml.DocumentNode && len(node.Content) > 0 {
		node = node.Content[0]
	}
	if node.Kind == yaml.ScalarNode && node.Tag == "!!null" {
		return validate(out)
	}
	var keys []keyLine
	if err := checkKnown(node, reflect.TypeOf(out), "", &keys); err != nil {
		return err
	}
	if err := node.Decode(out); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			c := *fe
			if p := pathAt(keys, c.Line); p != "" {
				if c.Field == "" {
					c.Field = p
				} else if !strings.HasPrefix(c.Field, p) {
					c.Field = p + "." + c.Field
				}
			}
			return &c
		}
		var te *yaml.TypeError
		if errors.As(err, &te) && len(te.Errors) > 0 {
			return &FieldError{Reason: strings.Join(te.Errors, "; ")}
		}
		return &FieldError{Line: node.Line, Reason: err.Error()}
	}
	return validate(out)
}

// Validator is implemented by configs that check their own values.
type Validator interface {
	Validate() error
}

func validate(out any) error {
	if v, ok := out.(Validator); ok {
		return v.Validate()
	}
	return nil
}

type keyLine struct {
	line int
	path string
}

func pathAt(keys []keyLine, line int) string {
	best := keyLine{}
	for _, k := range keys {
		if k.line <= line && k.line >= best.line {
			best = k
		}
	}
	return best.path
}

var (
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	nodeType        = reflect.TypeFor[yaml.Node]()
)

// checkKnown walks a mapping node against a struct type and reports the
// first key that names no field, with the fields that exist.
func checkKnown(n *yaml.Node, t reflect.Type, prefix string, keys *[]keyLine) error {
	for t.Kind() == reflect.Pointer && t.Elem() == nodeType {
		t = t.Elem()
	}
	if t == nodeType {
		return nil // decoded later, by whoever knows its type
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) || t.Implements(unmarshalerType) {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
		if reflect.PointerTo(t).Implements(unmarshalerType) {
			return nil
		}
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
				return nil
			}
			return &FieldError{Line: n.Line, Field: strings.TrimSuffix(prefix, "."), Value: nodeText(n), Reason: "want a mapping of fields"}
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			ft, ok := fields[k.Value]
			if !ok {
				known := make([]string, 0, len(fields))
				for name := range fields {
					known = append(known, name)
				}
				sort.Strings(known)
				return &FieldError{Line: k.Line, Field: prefix + k.Value, Reason: "unknown field (known: " + strings.Join(known, ", ") + ")"}
			}
			*keys = append(*keys, keyLine{line: k.Line, path: prefix + k.Value})
			if err := checkKnown(v, ft, prefix+k.Value+".", keys); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if n.Kind == yaml.SequenceNode {
			for i, c := range n.Content {
				if err := checkKnown(c, t.Elem(), fmt.Sprintf("%s[%d].", strings.TrimSuffix(prefix, "."), i), keys); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// yamlFields maps the YAML names of a struct's fields to their types,
// following inlined embedded structs.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}
