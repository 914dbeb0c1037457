package bootcheck

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// The settings file, written at build time into the signed initrd beside
// the manifest (closure.SettingsPath), is the authority on what the check
// does at boot. Version 1, plain text, "\n" line ends, nothing optional:
//
//	nix-closure-verify-settings 1
//	digest=sha256:<hex>
//	on-failure=halt
//	root=/sysroot
//	end
//
// Between the header and "end", one KEY=VALUE line per setting, keys as on
// the command line without the prefix ("-" between words), in byte order,
// each at most once; a value is everything after the first "=" and holds no
// control character. Keys not listed take their defaults.
const (
	settingsHeader = "nix-closure-verify-settings 1"
	settingsEnd    = "end"
	// MaxSettingsSize bounds what is read; a real file is about 200 bytes.
	MaxSettingsSize = 4096
)

// ErrSettings is wrapped by every error about a settings file's form.
var ErrSettings = errors.New("malformed settings file")

// MarshalSettings writes values as a settings file. It refuses what
// ParseSettings would refuse, so every file it writes reads back.
func MarshalSettings(v Values) ([]byte, error) {
	if _, err := v.Config(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(settingsHeader + "\n")
	for _, k := range v.keys() {
		if err := settingText(v[k]); err != nil {
			return nil, fmt.Errorf("%s.%s: %w", Prefix, k, err)
		}
		fmt.Fprintf(&b, "%s=%s\n", k, v[k])
	}
	b.WriteString(settingsEnd + "\n")
	if b.Len() > MaxSettingsSize {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrSettings, b.Len(), MaxSettingsSize)
	}
	return b.Bytes(), nil
}

// ParseSettings reads a settings file. It refuses anything MarshalSettings
// would not write: another version, a missing line end or "end", unsorted
// or repeated keys, unknown keys, control characters, invalid values.
func ParseSettings(data []byte) (Values, error) {
	if len(data) > MaxSettingsSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrSettings, MaxSettingsSize)
	}
	if len(data) == 0 || data[len(data)-1] != '\n' {
		return nil, fmt.Errorf("%w: does not end with a line end", ErrSettings)
	}
	lines := strings.Split(string(data[:len(data)-1]), "\n")
	if lines[0] != settingsHeader {
		return nil, fmt.Errorf("%w: line 1: expected %q", ErrSettings, settingsHeader)
	}
	if len(lines) < 2 || lines[len(lines)-1] != settingsEnd {
		return nil, fmt.Errorf("%w: no %q line at the end", ErrSettings, settingsEnd)
	}
	v := Values{}
	last := ""
	for i, line := range lines[1 : len(lines)-1] {
		n := i + 2
		key, val, ok := strings.Cut(line, "=")
		if !ok || key == "" {
			return nil, fmt.Errorf("%w: line %d: expected KEY=VALUE", ErrSettings, n)
		}
		if _, known := setters[key]; !known {
			return nil, fmt.Errorf("%w: line %d: %w %s", ErrSettings, n, ErrUnknownParam, key)
		}
		if key <= last {
			return nil, fmt.Errorf("%w: line %d: key %s out of order or repeated", ErrSettings, n, key)
		}
		if err := settingText(val); err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrSettings, n, err)
		}
		v[key], last = val, key
	}
	if _, err := v.Config(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSettings, err)
	}
	return v, nil
}

// settingText refuses bytes a one-line text value cannot hold.
func settingText(s string) error {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return fmt.Errorf("%w: control character 0x%02x in value", ErrBadValue, s[i])
		}
	}
	return nil
}
