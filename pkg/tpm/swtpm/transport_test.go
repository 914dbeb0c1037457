package swtpm

import (
	"bytes"
	"errors"
	"testing"
)

func TestReadResponse(t *testing.T) {
	ok := []byte{0x80, 0x01, 0, 0, 0, 12, 0, 0, 0, 0, 0xaa, 0xbb}
	for _, tc := range []struct {
		name string
		in   []byte
		want []byte
		err  error
	}{
		{"whole", append(ok, 0xcc), ok, nil},
		{"short header", ok[:5], nil, ErrShortResponse},
		{"short body", ok[:11], nil, ErrShortResponse},
		{"size below header", []byte{0x80, 0x01, 0, 0, 0, 2, 0, 0, 0, 0}, nil, nil},
		{"size too large", []byte{0x80, 0x01, 0x7f, 0, 0, 0, 0, 0, 0, 0}, nil, nil},
	} {
		got, err := readResponse(bytes.NewReader(tc.in))
		if tc.want != nil {
			if err != nil || !bytes.Equal(got, tc.want) {
				t.Errorf("%s: %x, %v", tc.name, got, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no error", tc.name)
		}
		if tc.err != nil && !errors.Is(err, tc.err) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.err)
		}
	}
}
