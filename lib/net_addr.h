/* SPDX-License-Identifier: Apache-2.0 */
/*
 * IPv4/IPv6 addresses and prefixes as plain values: comparable with net_addr_compare(), printable
 * without allocation. Shared by the Kubernetes side and the kernel side.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* Large enough for an IPv6 address in brackets, a port and a terminator. */
#define NET_ADDR_STRLEN 64

struct net_addr {
	int family; /* AF_INET or AF_INET6; 0 means unset */
	uint8_t bytes[16]; /* network order; IPv4 uses the first 4, the rest stays zero */
};

struct net_prefix {
	struct net_addr addr; /* host bits cleared */
	uint8_t len;
};

/* Parses a literal IPv4 or IPv6 address (no brackets, no zone). 0 or -EINVAL. */
int net_addr_parse(const char *text, struct net_addr *ret_addr)
	__attribute__((warn_unused_result));
/* Parses "addr/len"; host bits are cleared. A bare address is a full-length prefix. */
int net_prefix_parse(const char *text, struct net_prefix *ret_prefix)
	__attribute__((warn_unused_result));

/* Orders by family (IPv4 first), then by address bytes. */
int net_addr_compare(const struct net_addr *a, const struct net_addr *b);
bool net_addr_equal(const struct net_addr *a, const struct net_addr *b);
bool net_prefix_contains(const struct net_prefix *prefix, const struct net_addr *addr);
/* 4 or 16; 0 for an unset address. */
int net_addr_len(const struct net_addr *addr);
/* 32 or 128. */
int net_addr_bits(const struct net_addr *addr);

/* Writes the address in its canonical text form into buf (NET_ADDR_STRLEN). Returns buf. */
const char *net_addr_format(const struct net_addr *addr, char *buf);
/* "10.0.0.1:80" or "[fd00::1]:80". Returns buf (NET_ADDR_STRLEN). */
const char *net_addr_format_port(const struct net_addr *addr, uint16_t port, char *buf);
