#ifndef MAILD_CORE_ARRAY_SORT_H
#define MAILD_CORE_ARRAY_SORT_H

#include <stdlib.h>

/*
 * qsort and bsearch are declared with nonnull pointers even when the
 * array is empty, and an empty array is often NULL here (nothing was
 * allocated yet). These wrappers make the empty case well defined so
 * UBSan stays quiet and no caller has to remember the guard.
 */
static inline void array_sort(void *base, size_t count, size_t size,
			      int (*cmp)(const void *, const void *))
{
	if (count > 1)
		qsort(base, count, size, cmp);
}

static inline void *array_search(const void *key, const void *base, size_t count, size_t size,
				 int (*cmp)(const void *, const void *))
{
	if (count == 0)
		return NULL;
	return bsearch(key, base, count, size, cmp);
}

#endif
