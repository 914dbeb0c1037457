package uki

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/nix-boot-security/nix-boot-security/pkg/authenticode"
	"github.com/nix-boot-security/nix-boot-security/pkg/pe"
)

// Layout plans the image: the stub's sections (its .sbat replaced by the
// merged one, its symbol table dropped), then the Spec's sections in
// canonical order. It also returns those sections, indexed like the
// layout's appended placements.
func (s *Spec) Layout() (*pe.Layout, []Section, error) {
	a, err := pe.NewAppender(s.Stub)
	if err != nil {
		return nil, nil, fmt.Errorf("stub: %w", err)
	}
	a.Remove(SectionSBAT)
	ordered := s.Ordered()
	for _, sec := range ordered {
		flags := uint32(flagsData)
		if sec.Name == SectionLinux {
			flags = flagsLinux
		}
		if err := a.Append(sec.Name, sec.Size(), flags); err != nil {
			return nil, nil, err
		}
	}
	l, err := a.Layout()
	if err != nil {
		return nil, nil, err
	}
	return l, ordered, nil
}

// Write writes the image to out and returns its SHA-256 Authenticode
// digest. With a signer, the image is signed in the same pass: the digest is
// computed while the data is written, then the signature is appended and
// the header fields patched. The output depends only on the inputs.
func (s *Spec) Write(out authenticode.Output, signer *authenticode.Signer) ([]byte, error) {
	if signer != nil {
		if err := signer.Check(); err != nil {
			return nil, err
		}
	}
	l, secs, err := s.Layout()
	if err != nil {
		return nil, err
	}
	hasher := authenticode.NewStreamHasher(sha256.New(), l.ChecksumOffset, l.CertDirOffset)
	var ck pe.Checksummer
	w := newTee(out, hasher, &ck)
	defer w.stop()

	if _, err := w.Write(l.Header); err != nil {
		return nil, err
	}
	buf := make([]byte, 1<<20)
	for _, p := range l.Sections {
		if p.Appended < 0 {
			if _, err := w.Write(p.Base); err != nil {
				return nil, err
			}
			continue
		}
		sec := secs[p.Appended]
		r, err := sec.Open()
		if err != nil {
			return nil, err
		}
		n, err := io.CopyBuffer(w, r, buf)
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("writing %s: %w", sec.Name, err)
		}
		if n != sec.Size() {
			return nil, fmt.Errorf("%w: %s gave %d bytes, expected %d", ErrChanged, sec.Name, n, sec.Size())
		}
		if pad := int64(p.Header.SizeOfRawData) - n; pad > 0 {
			if _, err := w.Write(make([]byte, pad)); err != nil {
				return nil, err
			}
		}
	}
	size := l.Size()
	// The certificate table must start on a quadword boundary.
	if pad := pe.AlignUp(size, 8) - size; pad > 0 && signer != nil {
		if _, err := w.Write(make([]byte, pad)); err != nil {
			return nil, err
		}
		size += pad
	}
	if err := w.stop(); err != nil {
		return nil, err
	}
	digest := hasher.Sum()
	if signer != nil {
		if l.CertDirOffset < 0 {
			return nil, fmt.Errorf("stub has no certificate table directory entry; it cannot be signed")
		}
		sig, err := signer.Sign(digest)
		if err != nil {
			return nil, err
		}
		table := authenticode.AppendEntry(nil, sig)
		if _, err := out.Write(table); err != nil {
			return nil, err
		}
		ck.AddAt(size, table)
		var dir [8]byte
		binary.LittleEndian.PutUint32(dir[0:], uint32(size))
		binary.LittleEndian.PutUint32(dir[4:], uint32(len(table)))
		if _, err := out.WriteAt(dir[:], l.CertDirOffset); err != nil {
			return nil, err
		}
		ck.AddAt(l.CertDirOffset, dir[:])
		size += int64(len(table))
	}
	return digest, authenticode.PatchChecksum(out, l.ChecksumOffset, ck.Sum(size))
}
