#ifndef MAILD_CORE_ARRAY_GROW_H
#define MAILD_CORE_ARRAY_GROW_H

#include <stdint.h>
#include <stdlib.h>

/*
 * Make room in a realloc'ed array for at least need elements of elem bytes: the capacity
 * at least doubles (plus a first step of 64), so appending n elements costs O(n). 0, or -1
 * (out of memory or a size past SIZE_MAX) with the array left as it was.
 */
static inline int array_grow(void **array, size_t *cap, size_t need, size_t elem)
{
	size_t want = *cap;
	void *more;

	if (need <= *cap)
		return 0;
	while (want < need) {
		if (want > (SIZE_MAX / elem - 64) / 2)
			return -1;
		want = want * 2 + 64;
	}
	more = realloc(*array, want * elem);
	if (more == NULL)
		return -1;
	*array = more;
	*cap = want;
	return 0;
}

#endif
