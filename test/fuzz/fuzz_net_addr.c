/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes address and prefix parsing, which sees every IP string the API server sends, and
 * checks that whatever parses prints back to a form that parses to the same value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net_addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[128];
	char out[NET_ADDR_STRLEN];
	struct net_addr a, again;
	struct net_prefix p;

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (net_addr_parse(text, &a) == 0) {
		net_addr_format(&a, out);
		if (net_addr_parse(out, &again) != 0 || !net_addr_equal(&a, &again))
			abort();
		net_addr_format_port(&a, 65535, out);
	}
	if (net_prefix_parse(text, &p) == 0 && !net_prefix_contains(&p, &p.addr))
		abort();
	return 0;
}
