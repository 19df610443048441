#include <stdbool.h>
#include <string.h>

#include "mbox_flags.h"

static const struct {
	char letter;
	uint8_t flag;
} mbox_flag_letters[] = {
    {'D', MBOX_FLAG_DRAFT},    {'F', MBOX_FLAG_FLAGGED}, {'P', MBOX_FLAG_PASSED},
    {'R', MBOX_FLAG_ANSWERED}, {'S', MBOX_FLAG_SEEN},    {'T', MBOX_FLAG_DELETED},
};

static uint8_t mbox_flag_of(char c)
{
	for (size_t i = 0; i < sizeof(mbox_flag_letters) / sizeof(mbox_flag_letters[0]); i++) {
		if (mbox_flag_letters[i].letter == c)
			return mbox_flag_letters[i].flag;
	}
	return 0;
}

void mbox_flags_parse(const char *letters, uint8_t *flags_r, uint32_t *keywords_r)
{
	uint8_t flags = 0;
	uint32_t keywords = 0;

	for (const char *p = letters; *p != '\0'; p++) {
		if (*p >= 'a' && *p <= 'z')
			keywords |= 1u << (*p - 'a');
		else
			flags |= mbox_flag_of(*p);
	}
	*flags_r = flags;
	*keywords_r = keywords;
}

int mbox_flags_letters(uint8_t flags, uint32_t keywords, const char *old, char *out, size_t size)
{
	bool set[128] = {false};
	size_t n = 0;

	/* Maildir spec: the flags "must be stored in ASCII order"; a table sorts for free. */
	for (const char *p = old != NULL ? old : ""; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c > ' ' && c < 127 && c != '/' && c != ':' && !(c >= 'a' && c <= 'z') &&
		    mbox_flag_of((char)c) == 0)
			set[c] = true;
	}
	for (size_t i = 0; i < sizeof(mbox_flag_letters) / sizeof(mbox_flag_letters[0]); i++) {
		if ((flags & mbox_flag_letters[i].flag) != 0)
			set[(unsigned char)mbox_flag_letters[i].letter] = true;
	}
	for (unsigned i = 0; i < MBOX_KEYWORDS_MAX; i++) {
		if ((keywords & (1u << i)) != 0)
			set['a' + i] = true;
	}
	for (unsigned c = 0; c < 128; c++) {
		if (!set[c])
			continue;
		if (n + 1 >= size)
			return -1;
		out[n++] = (char)c;
	}
	if (size == 0)
		return -1;
	out[n] = '\0';
	return 0;
}

int mbox_flags_name(const char *base, size_t base_len, uint8_t flags, uint32_t keywords,
                    const char *old_letters, char *out, size_t size)
{
	if (base_len + 3 >= size)
		return -1;
	memcpy(out, base, base_len);
	memcpy(out + base_len, ":2,", 3);
	return mbox_flags_letters(flags, keywords, old_letters, out + base_len + 3,
	                          size - base_len - 3);
}
