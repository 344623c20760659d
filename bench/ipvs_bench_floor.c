/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kernel floor for programming IPVS: a minimal program with a raw netlink socket (no libnl,
 * no kipvs code) that sends exactly the NEW_SERVICE/NEW_DEST messages kipvs sends for the
 * benchmark table, batched to the send buffer with an ACK on the last message only (or with an
 * ACK on each, one per sendmsg), and does nothing else. Run as root in the test guest.
 */
#include <errno.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ipvs_bench_table.h"

static uint8_t *buf;
static size_t off, cap;
static uint32_t seq;
static int fd;
static uint16_t family;

static void put(uint16_t type, const void *data, uint16_t len)
{
	struct nlattr *a = (struct nlattr *)(buf + off);

	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	memcpy(buf + off + NLA_HDRLEN, data, len);
	memset(buf + off + NLA_HDRLEN + len, 0, NLA_ALIGN(len) - len);
	off += NLA_ALIGN(a->nla_len);
}

static void put_u16(uint16_t type, uint16_t v)
{
	put(type, &v, 2);
}

static void put_u32(uint16_t type, uint32_t v)
{
	put(type, &v, 4);
}

static size_t nest_start(uint16_t type)
{
	size_t at = off;
	struct nlattr *a = (struct nlattr *)(buf + off);

	a->nla_type = type;
	off += NLA_HDRLEN;
	return at;
}

static void nest_end(size_t at)
{
	((struct nlattr *)(buf + at))->nla_len = (uint16_t)(off - at);
}

static size_t msg_start(uint16_t type, uint8_t cmd, uint16_t flags)
{
	size_t at = off;
	struct nlmsghdr *h = (struct nlmsghdr *)(buf + off);
	struct genlmsghdr *g = (struct genlmsghdr *)(buf + off + NLMSG_HDRLEN);

	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = ++seq;
	h->nlmsg_pid = 0;
	g->cmd = cmd;
	g->version = IPVS_GENL_VERSION;
	g->reserved = 0;
	off += NLMSG_HDRLEN + GENL_HDRLEN;
	return at;
}

static void msg_end(size_t at)
{
	((struct nlmsghdr *)(buf + at))->nlmsg_len = (uint32_t)(off - at);
}

static void put_service(const uint8_t addr[16], uint16_t port, bool full)
{
	size_t n = nest_start(IPVS_CMD_ATTR_SERVICE);
	struct ip_vs_flags flags = {.flags = 0, .mask = ~0u};

	put_u16(IPVS_SVC_ATTR_AF, AF_INET);
	put_u16(IPVS_SVC_ATTR_PROTOCOL, IPPROTO_TCP);
	put(IPVS_SVC_ATTR_ADDR, addr, 16);
	put_u16(IPVS_SVC_ATTR_PORT, htons(port));
	if (full) {
		put(IPVS_SVC_ATTR_SCHED_NAME, "rr", 3);
		put(IPVS_SVC_ATTR_FLAGS, &flags, sizeof(flags));
		put_u32(IPVS_SVC_ATTR_TIMEOUT, 0);
		put_u32(IPVS_SVC_ATTR_NETMASK, 0xffffffffu);
	}
	nest_end(n);
}

static void put_dest(const uint8_t addr[16], uint16_t port)
{
	size_t n = nest_start(IPVS_CMD_ATTR_DEST);

	put(IPVS_DEST_ATTR_ADDR, addr, 16);
	put_u16(IPVS_DEST_ATTR_PORT, htons(port));
	put_u16(IPVS_DEST_ATTR_ADDR_FAMILY, AF_INET);
	put_u32(IPVS_DEST_ATTR_FWD_METHOD, IP_VS_CONN_F_MASQ);
	put_u32(IPVS_DEST_ATTR_WEIGHT, 1);
	put_u32(IPVS_DEST_ATTR_U_THRESH, 0);
	put_u32(IPVS_DEST_ATTR_L_THRESH, 0);
	nest_end(n);
}

/* Reads until the reply to `last` (an ACK or an error); counts errors. */
static int drain(uint32_t last, long *errors)
{
	static uint8_t rbuf[65536];

	for (;;) {
		ssize_t n = recv(fd, rbuf, sizeof(rbuf), 0);

		if (n < 0)
			return -errno;
		for (struct nlmsghdr *h = (void *)rbuf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				if (e->error)
					(*errors)++;
				if (e->msg.nlmsg_seq == last)
					return 0;
			} else if (h->nlmsg_type == NLMSG_DONE) {
				return 0;
			}
		}
	}
}

/* Sends buf[0, len) with an ACK on the message at last_hdr, and reads the replies. */
static int flush(size_t len, size_t last_hdr, long *sendmsgs, long *errors)
{
	struct nlmsghdr *h = (struct nlmsghdr *)(buf + last_hdr);

	h->nlmsg_flags |= NLM_F_ACK;
	if (send(fd, buf, len, 0) < 0) {
		perror("send");
		return -1;
	}
	(*sendmsgs)++;
	if (drain(h->nlmsg_seq, errors) < 0) {
		perror("recv");
		return -1;
	}
	return 0;
}

static uint16_t resolve(void)
{
	static uint8_t rbuf[8192];
	size_t m;
	ssize_t n;

	off = 0;
	m = msg_start(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0);
	put(CTRL_ATTR_FAMILY_NAME, "IPVS", 5);
	msg_end(m);
	if (send(fd, buf, off, 0) < 0)
		return 0;
	n = recv(fd, rbuf, sizeof(rbuf), 0);
	for (struct nlmsghdr *h = (void *)rbuf; n > 0 && NLMSG_OK(h, (size_t)n);
	     h = NLMSG_NEXT(h, n)) {
		struct nlattr *a = (void *)((uint8_t *)NLMSG_DATA(h) + GENL_HDRLEN);
		int len = (int)h->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;

		if (h->nlmsg_type != GENL_ID_CTRL)
			continue;
		for (; len >= NLA_HDRLEN; len -= NLA_ALIGN(a->nla_len),
					  a = (void *)((uint8_t *)a + NLA_ALIGN(a->nla_len)))
			if (a->nla_type == CTRL_ATTR_FAMILY_ID)
				return *(uint16_t *)((uint8_t *)a + NLA_HDRLEN);
	}
	return 0;
}

int main(int argc, char **argv)
{
	bool ack_each = argc > 1 && strcmp(argv[1], "--ack-each") == 0;
	int one = 1, sndbuf = 1 << 20, rcvbuf = 16 << 20, got;
	socklen_t len = sizeof(got);
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	long sendmsgs = 0, errors = 0, messages = 0;
	size_t last_hdr = 0, limit;
	struct timespec t0, t1;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return perror("netlink socket"), 1;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &got, &len);
	limit = (size_t)got - 64;
	cap = limit + 1024;
	buf = malloc(cap);
	family = resolve();
	if (!family)
		return fprintf(stderr, "no IPVS family\n"), 1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	off = 0;
	for (int i = 0; i < BENCH_SERVICES; i++) {
		uint8_t vip[16];

		bench_vip(i, vip);
		for (int j = -1; j < BENCH_DESTS; j++) {
			size_t start = off, m;

			m = msg_start(family, j < 0 ? IPVS_CMD_NEW_SERVICE : IPVS_CMD_NEW_DEST, 0);
			put_service(vip, BENCH_PORT, j < 0);
			if (j >= 0) {
				uint8_t rip[16];

				bench_rip(i, j, rip);
				put_dest(rip, BENCH_RS_PORT);
			}
			msg_end(m);
			messages++;
			if (!ack_each && off > limit && start > 0) {
				/* It does not fit: send the batch before it, ACK on its last
				 * message. */
				if (flush(start, last_hdr, &sendmsgs, &errors) < 0)
					return 1;
				memmove(buf, buf + start, off - start);
				off -= start;
				start = 0;
			}
			last_hdr = start;
			if (ack_each) {
				if (flush(off, last_hdr, &sendmsgs, &errors) < 0)
					return 1;
				off = 0;
			}
		}
	}
	if (off && flush(off, last_hdr, &sendmsgs, &errors) < 0)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("floor%s: messages=%ld sendmsg=%ld errors=%ld took %.0f ms\n",
	       ack_each ? " (ack each)" : " (batched)", messages, sendmsgs, errors,
	       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	return errors ? 1 : 0;
}
