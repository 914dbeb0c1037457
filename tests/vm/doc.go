// Package vm holds the tests that boot real firmware under QEMU. They carry
// the build tag vm (go test -tags vm ./tests/vm/); see README.md. The
// reusable harness is in the harness subpackage.
package vm
