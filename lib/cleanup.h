/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scope-bound cleanup (style.md §5): a variable declared _cleanup_free_ is freed on every
 * return path; TAKE_PTR() hands it out instead.
 */
#pragma once

#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p)
{
	free(*(void **)p);
}

static inline void closep(int *fd)
{
	if (*fd >= 0)
		(void)close(*fd);
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)

/* Returns the pointer and leaves NULL behind, so the cleanup handler frees nothing. */
#define TAKE_PTR(p)                                                                               \
	({                                                                                         \
		__typeof__(p) _taken = (p);                                                        \
		(p) = NULL;                                                                        \
		_taken;                                                                            \
	})

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
