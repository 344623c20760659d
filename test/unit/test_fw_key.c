/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests for the binary nftables set keys (ipvs/fw_key.c): table-driven, each element's
 * expected key written out byte by byte (network order, each concatenation field padded to 4
 * bytes), so a wrong byte order, padding or length fails; and every set's key length against
 * what its declared type implies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "fw_internal.h"

struct t_case {
	const char *name;
	enum plan_fw_set set;
	enum kube_proto proto;
	uint16_t port;
	const char *addr, *addr2;
	size_t want_len;
	uint8_t want[FW_KEY_MAX];
};

static const struct t_case cases[] = {
    {"vip4", PLAN_FW_SET_VIP, KUBE_PROTO_TCP, 0, "10.96.0.10", NULL, 4, {10, 96, 0, 10}},
    {"vip6",
     PLAN_FW_SET_VIP,
     KUBE_PROTO_TCP,
     0,
     "fd00::1",
     NULL,
     16,
     {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
    {"cluster_ip4 tcp 80",
     PLAN_FW_SET_CLUSTER_IP,
     KUBE_PROTO_TCP,
     80,
     "10.96.0.10",
     NULL,
     12,
     {10, 96, 0, 10, 6, 0, 0, 0, 0, 80, 0, 0}},
    {"node_port4 udp 30001 (port bytes big-endian)",
     PLAN_FW_SET_NODE_PORT,
     KUBE_PROTO_UDP,
     30001,
     "192.0.2.1",
     NULL,
     12,
     {192, 0, 2, 1, 17, 0, 0, 0, 0x75, 0x31, 0, 0}},
    {"external6 sctp 443",
     PLAN_FW_SET_EXTERNAL,
     KUBE_PROTO_SCTP,
     443,
     "2001:db8::5",
     NULL,
     24,
     {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 132, 0, 0, 0, 0x01, 0xbb, 0, 0}},
    {"hc_node_port tcp 32000",
     PLAN_FW_SET_HC_NODE_PORT,
     KUBE_PROTO_TCP,
     32000,
     "10.0.0.1",
     NULL,
     8,
     {6, 0, 0, 0, 0x7d, 0x00, 0, 0}},
    {"hairpin4",
     PLAN_FW_SET_HAIRPIN,
     KUBE_PROTO_TCP,
     8080,
     "10.96.0.10",
     "10.1.2.3",
     16,
     {10, 96, 0, 10, 6, 0, 0, 0, 0x1f, 0x90, 0, 0, 10, 1, 2, 3}},
    {"hairpin6",
     PLAN_FW_SET_HAIRPIN,
     KUBE_PROTO_UDP,
     53,
     "fd00::a",
     "fd01::b",
     40,
     {0xfd, 0,	0, 0, 0,    0,	  0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a, 17, 0, 0, 0,
      0,    53, 0, 0, 0xfd, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	   0,  0, 0, 0x0b}},
    {"hairpin of two families: no key",
     PLAN_FW_SET_HAIRPIN,
     KUBE_PROTO_TCP,
     80,
     "10.0.0.1",
     "fd00::1",
     0,
     {0}},
    {"lb_source (interval): no key",
     PLAN_FW_SET_LB_SOURCE,
     KUBE_PROTO_TCP,
     80,
     "10.0.0.1",
     "192.0.2.0",
     0,
     {0}},
};

static void t_encode(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct t_case *c = &cases[i];
		struct plan_fw_elem e = {.set = c->set, .proto = c->proto, .port = c->port};
		uint8_t key[FW_KEY_MAX];
		size_t len;

		assert_int_equal(net_addr_parse(c->addr, &e.addr), 0);
		if (c->addr2)
			assert_int_equal(net_addr_parse(c->addr2, &e.addr2), 0);
		len = fw_key_encode(&e, key);
		if (len != c->want_len || memcmp(key, c->want, len) != 0) {
			print_error("case \"%s\": got length %zu:", c->name, len);
			for (size_t k = 0; k < len; k++)
				print_error(" %02x", key[k]);
			print_error("\n");
			fail();
		}
		/* The encoded length is the set's key length, as the kernel checks it. */
		if (len)
			assert_int_equal(len, fw_key_len(c->set, e.addr.family));
	}
}

/* Every set's key length: the sum of its fields, each padded to 4 bytes. */
static void t_key_len(void **state)
{
	static const struct {
		enum plan_fw_set set;
		size_t v4, v6;
	} want[] = {
	    {PLAN_FW_SET_VIP, 4, 16},	       {PLAN_FW_SET_CLUSTER_IP, 12, 24},
	    {PLAN_FW_SET_EXTERNAL, 12, 24},    {PLAN_FW_SET_EXTERNAL_LOCAL, 12, 24},
	    {PLAN_FW_SET_NODE_PORT, 12, 24},   {PLAN_FW_SET_NODE_PORT_LOCAL, 12, 24},
	    {PLAN_FW_SET_NO_LOCAL, 12, 24},    {PLAN_FW_SET_NODE_PORT_NO_LOCAL, 12, 24},
	    {PLAN_FW_SET_LB_FILTERED, 12, 24}, {PLAN_FW_SET_HC_NODE_PORT, 8, 8},
	    {PLAN_FW_SET_HAIRPIN, 16, 40},     {PLAN_FW_SET_LB_SOURCE, 16, 40},
	};

	(void)state;
	assert_int_equal(sizeof(want) / sizeof(want[0]), _PLAN_FW_SET_MAX);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (fw_key_len(want[i].set, AF_INET) != want[i].v4 ||
		    fw_key_len(want[i].set, AF_INET6) != want[i].v6) {
			print_error("set %s: got %zu/%zu\n", plan_fw_set_to_string(want[i].set),
				    fw_key_len(want[i].set, AF_INET),
				    fw_key_len(want[i].set, AF_INET6));
			fail();
		}
	}
	assert_true(fw_set_is_interval(PLAN_FW_SET_LB_SOURCE));
	assert_false(fw_set_is_interval(PLAN_FW_SET_CLUSTER_IP));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_encode),
	    cmocka_unit_test(t_key_len),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
