//go:build unix

package config

import "syscall"

// openNonBlocking makes opening a FIFO return at once instead of waiting
// for a writer; it changes nothing for a regular file.
const openNonBlocking = syscall.O_NONBLOCK
