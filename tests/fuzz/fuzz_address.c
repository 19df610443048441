/* Feeds arbitrary bytes to the RFC 5321 address parser, and what parses to the admin variant. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct address addr;
	const char *error;
	char formatted[ADDRESS_FORMAT_MAX];
	char *text;

	if (address_parse((const char *)data, size, size > 0 && data[0] & 1, &addr, &error) == 0)
		(void)address_format(&addr, formatted, sizeof(formatted));
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (address_parse_mailbox(text, true, &addr, &error) == 0)
		(void)address_is_postmaster(&addr);
	(void)address_domain_valid(text, &error);
	free(text);
	return 0;
}
