package closure

import "github.com/nix-community/go-nix/pkg/nixbase32"

// hashPartLen is the length of a store path's nix32 hash part.
const hashPartLen = 32

// refScanner finds which of a set of store path hash parts occur in a byte
// stream, as Nix's reference scanner does over a NAR: any 32-byte run of
// nix32 characters that equals a candidate's hash part is a reference.
type refScanner struct {
	candidates map[string]string // hash part -> store path base name
	found      map[string]struct{}
	tail       []byte // the stream's last hashPartLen-1 bytes
	seam       []byte
}

func newRefScanner(candidates map[string]string) *refScanner {
	return &refScanner{candidates: candidates, found: map[string]struct{}{}}
}

func (s *refScanner) Write(p []byte) (int, error) {
	// Runs that start in the previous writes and end in p.
	if len(s.tail) > 0 {
		s.seam = append(append(s.seam[:0], s.tail...), p[:min(len(p), hashPartLen-1)]...)
		s.scan(s.seam, len(s.tail))
	}
	s.scan(p, len(p))
	s.tail = append(s.tail, p[max(0, len(p)-(hashPartLen-1)):]...)
	if over := len(s.tail) - (hashPartLen - 1); over > 0 {
		s.tail = append(s.tail[:0], s.tail[over:]...)
	}
	return len(p), nil
}

// scan records candidates in b that start before startLimit. It skips ahead
// past any non-nix32 byte, so ordinary data costs about one check per byte.
func (s *refScanner) scan(b []byte, startLimit int) {
	i := 0
	for i+hashPartLen <= len(b) && i < startLimit {
		j := i + hashPartLen - 1
		for j >= i && nixbase32.Is(b[j]) {
			j--
		}
		if j >= i {
			i = j + 1
			continue
		}
		if _, ok := s.candidates[string(b[i:i+hashPartLen])]; ok {
			s.found[string(b[i:i+hashPartLen])] = struct{}{}
		}
		i++
	}
}
