/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Parsing, ordering and printing of IP addresses and prefixes, with inet_pton/inet_ntop doing
 * the text work, so every module agrees on one canonical form.
 */
#include "net_addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int net_addr_parse(const char *text, struct net_addr *ret_addr)
{
	struct net_addr a = {0};

	if (!text)
		return -EINVAL;
	if (inet_pton(AF_INET, text, a.bytes) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, text, a.bytes) == 1)
		a.family = AF_INET6;
	else
		return -EINVAL;
	*ret_addr = a;
	return 0;
}

int net_prefix_parse(const char *text, struct net_prefix *ret_prefix)
{
	char buf[NET_ADDR_STRLEN];
	struct net_prefix p = {0};
	const char *slash;
	int bits;

	if (!text)
		return -EINVAL;
	slash = strchr(text, '/');
	if (!slash) {
		if (net_addr_parse(text, &p.addr) < 0)
			return -EINVAL;
		p.len = (uint8_t)net_addr_bits(&p.addr);
		*ret_prefix = p;
		return 0;
	}
	if ((size_t)(slash - text) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, text, (size_t)(slash - text));
	buf[slash - text] = '\0';
	if (net_addr_parse(buf, &p.addr) < 0)
		return -EINVAL;
	{
		char *end;
		long v;

		errno = 0;
		v = strtol(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || v < 0 || v > net_addr_bits(&p.addr))
			return -EINVAL;
		bits = (int)v;
	}
	p.len = (uint8_t)bits;
	for (int i = 0; i < 16; i++) {
		int keep = bits - i * 8;

		if (keep >= 8)
			continue;
		p.addr.bytes[i] &= keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
	}
	*ret_prefix = p;
	return 0;
}

int net_addr_len(const struct net_addr *addr)
{
	return addr->family == AF_INET ? 4 : addr->family == AF_INET6 ? 16 : 0;
}

int net_addr_bits(const struct net_addr *addr)
{
	return net_addr_len(addr) * 8;
}

int net_addr_compare(const struct net_addr *a, const struct net_addr *b)
{
	if (a->family != b->family)
		return a->family == AF_INET ? -1 : b->family == AF_INET ? 1 : a->family - b->family;
	return memcmp(a->bytes, b->bytes, sizeof(a->bytes));
}

bool net_addr_equal(const struct net_addr *a, const struct net_addr *b)
{
	return net_addr_compare(a, b) == 0;
}

bool net_prefix_contains(const struct net_prefix *prefix, const struct net_addr *addr)
{
	int bits = prefix->len;

	if (prefix->addr.family != addr->family)
		return false;
	for (int i = 0; bits > 0; i++, bits -= 8) {
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));

		if ((addr->bytes[i] & mask) != prefix->addr.bytes[i])
			return false;
	}
	return true;
}

const char *net_addr_format(const struct net_addr *addr, char *buf)
{
	if (!inet_ntop(addr->family, addr->bytes, buf, NET_ADDR_STRLEN))
		snprintf(buf, NET_ADDR_STRLEN, "?");
	return buf;
}

const char *net_addr_format_port(const struct net_addr *addr, uint16_t port, char *buf)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(addr->family, addr->bytes, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	if (addr->family == AF_INET6)
		snprintf(buf, NET_ADDR_STRLEN, "[%s]:%u", a, port);
	else
		snprintf(buf, NET_ADDR_STRLEN, "%s:%u", a, port);
	return buf;
}
