package verity

import (
	"encoding/hex"
	"fmt"
)

// TargetName is the device-mapper target type of dm-verity.
const TargetName = "verity"

// TableParams is the parameter string of a dm-verity table line (Linux
// Documentation/admin-guide/device-mapper/verity.rst):
//
//	<version> <data_dev> <hash_dev> <data_block_size> <hash_block_size>
//	<num_data_blocks> <hash_start_block> <algorithm> <digest> <salt>
//
// followed by optional arguments (such as "1 panic_on_corruption"). Devices
// are paths or major:minor; a missing salt is "-".
func TableParams(g *Geometry, salt, root []byte, dataDev, hashDev string, optional ...string) (string, error) {
	if len(root) != DigestSize {
		return "", fmt.Errorf("%w: %d bytes, %s needs %d", ErrRootHashLength, len(root), Algorithm, DigestSize)
	}
	s := "-"
	if len(salt) > 0 {
		s = hex.EncodeToString(salt)
	}
	line := fmt.Sprintf("%d %s %s %d %d %d %d %s %s %s", HashTypeNormal, dataDev, hashDev,
		g.DataBlockSize, g.HashBlockSize, g.DataBlocks, g.HashStart, Algorithm, hex.EncodeToString(root), s)
	if len(optional) > 0 {
		line += fmt.Sprintf(" %d", len(optional))
		for _, o := range optional {
			line += " " + o
		}
	}
	return line, nil
}

// OnCorruption is the optional table argument for what the kernel does with
// a block that fails verification: "eio" fails the read (dm-verity's
// default, no argument), "restart" and "panic" restart or panic the
// machine.
func OnCorruption(mode string) ([]string, error) {
	switch mode {
	case "eio":
		return nil, nil
	case "restart":
		return []string{"restart_on_corruption"}, nil
	case "panic":
		return []string{"panic_on_corruption"}, nil
	}
	return nil, fmt.Errorf("%w: on corruption %q: must be eio, restart or panic", ErrParams, mode)
}

// Sectors is the length of the dm-verity device in 512-byte sectors.
func (g *Geometry) Sectors() uint64 {
	return g.DataBlocks * uint64(g.DataBlockSize) / 512
}
