/* base64_decode on any text; whatever decodes must encode back to the same text (the decoder
   accepts only canonical base64). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[4096];
	char back[BASE64_ENCODED_SIZE(sizeof(out))];
	ssize_t n;

	if (size > 5000)
		return 0;
	n = base64_decode((const char *)data, size, out, sizeof(out));
	if (n < 0)
		return 0;
	if (base64_encode(out, (size_t)n, back, sizeof(back)) != (ssize_t)size ||
	    memcmp(back, data, size) != 0)
		abort();
	return 0;
}
