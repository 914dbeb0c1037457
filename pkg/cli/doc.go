// Package cli holds the conventions every command of this project shares:
// exit statuses, one-line error reporting and explicit subcommand tables
// (nested for groups such as "image format|verify|...").
//
// Exit statuses (documented in each command's --help and in README.md):
//
//	0  success
//	1  verification failed: something was checked and found wrong
//	2  usage or input error: bad flags, unreadable or malformed input
package cli
