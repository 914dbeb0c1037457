package closure

import (
	"fmt"
	"os/user"
	"strconv"
	"strings"
)

// Owner is the user and group every store entry must belong to. The zero
// value is root:root, what a multi-user (daemon) store has; a single-user
// store belongs to the user who installed Nix.
type Owner struct {
	UID, GID uint32
}

func (o Owner) String() string { return fmt.Sprintf("%d:%d", o.UID, o.GID) }

// ParseOwner reads an owner as "UID:GID", "USER:GROUP" (names or numbers on
// either side) or "USER" (that user and their primary group). Names are
// looked up in the user database of the machine running the check, not of
// the store being checked.
func ParseOwner(s string) (Owner, error) {
	userPart, groupPart, hasGroup := strings.Cut(s, ":")
	if userPart == "" || (hasGroup && groupPart == "") {
		return Owner{}, fmt.Errorf("invalid owner %q (want UID:GID, USER:GROUP or USER)", s)
	}
	uid, primaryGID, err := lookupUser(userPart)
	if err != nil {
		return Owner{}, fmt.Errorf("invalid owner %q: %w", s, err)
	}
	if !hasGroup {
		if primaryGID < 0 {
			return Owner{}, fmt.Errorf("invalid owner %q: a numeric user needs a group (UID:GID)", s)
		}
		return Owner{UID: uid, GID: uint32(primaryGID)}, nil
	}
	gid, err := lookupGroup(groupPart)
	if err != nil {
		return Owner{}, fmt.Errorf("invalid owner %q: %w", s, err)
	}
	return Owner{UID: uid, GID: gid}, nil
}

// lookupUser returns a user's id and, for a name, their primary group (-1
// for a number, which names no account).
func lookupUser(s string) (uid uint32, primaryGID int64, err error) {
	if n, ok := parseID(s); ok {
		return n, -1, nil
	}
	u, err := user.Lookup(s)
	if err != nil {
		return 0, -1, err
	}
	n, ok := parseID(u.Uid)
	g, gok := parseID(u.Gid)
	if !ok || !gok {
		return 0, -1, fmt.Errorf("user %s has a non-numeric id", s)
	}
	return n, int64(g), nil
}

func lookupGroup(s string) (uint32, error) {
	if n, ok := parseID(s); ok {
		return n, nil
	}
	g, err := user.LookupGroup(s)
	if err != nil {
		return 0, err
	}
	n, ok := parseID(g.Gid)
	if !ok {
		return 0, fmt.Errorf("group %s has a non-numeric id", s)
	}
	return n, nil
}

// parseID reads a decimal uid or gid; (uid_t)-1 is not an id.
func parseID(s string) (uint32, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 1<<32-1 {
		return 0, false
	}
	return uint32(n), true
}
