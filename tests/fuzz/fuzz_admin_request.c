/* Feeds arbitrary bytes to the admin socket's request decoder. */
#include <stddef.h>
#include <stdint.h>

#include "admin_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct admin_request req;
	char error[256];
	uint64_t n;

	if (admin_request_parse((const char *)data, size, &req, error, sizeof(error)) == 0) {
		/* Whatever validated must be readable through the accessors. */
		(void)admin_arg_str(&req, "address");
		(void)admin_arg_uint(&req, "quota", &n);
		(void)admin_arg_strings(&req, "targets");
		admin_request_clear(&req);
	}
	return 0;
}
