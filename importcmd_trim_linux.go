//go:build linux && cgo

package main

// #include <malloc.h>
import "C"

// mallocTrim hands the C heap's free pages back to the system: SQLite's
// page caches are malloc'd page by page, and glibc keeps what they free
// unless asked.
func mallocTrim() { C.malloc_trim(0) }
