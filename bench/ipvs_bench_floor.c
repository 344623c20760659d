/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kernel floor for programming IPVS: a minimal program with a raw netlink socket (no libnl,
 * no kipvs code) that sends exactly the NEW_SERVICE/NEW_DEST messages kipvs sends for the
 * benchmark table, batched to the send buffer with an ACK on the last message only (or with an
 * ACK on each, one per sendmsg), and does nothing else. Run as root in the test guest.
 *   ipvs_bench_floor [--ack-each] [--per-sendmsg N] [--services S] [--dests D] [--family 4|6|dual]
 * --per-sendmsg N sends N messages per sendmsg (ACK on the last), the end-to-end scale
 * benchmark's floor (bench/run-scale-bench.sh); --services, --dests and --family size the table
 * (default: the 10 000 x 10 IPv4 table of ipvs_bench_table.h).
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
static uint16_t af = AF_INET; /* of the message being built */

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

	put_u16(IPVS_SVC_ATTR_AF, af);
	put_u16(IPVS_SVC_ATTR_PROTOCOL, IPPROTO_TCP);
	put(IPVS_SVC_ATTR_ADDR, addr, 16);
	put_u16(IPVS_SVC_ATTR_PORT, htons(port));
	if (full) {
		put(IPVS_SVC_ATTR_SCHED_NAME, "rr", 3);
		put(IPVS_SVC_ATTR_FLAGS, &flags, sizeof(flags));
		put_u32(IPVS_SVC_ATTR_TIMEOUT, 0);
		put_u32(IPVS_SVC_ATTR_NETMASK, af == AF_INET6 ? 128 : 0xffffffffu);
	}
	nest_end(n);
}

static void put_dest(const uint8_t addr[16], uint16_t port)
{
	size_t n = nest_start(IPVS_CMD_ATTR_DEST);

	put(IPVS_DEST_ATTR_ADDR, addr, 16);
	put_u16(IPVS_DEST_ATTR_PORT, htons(port));
	put_u16(IPVS_DEST_ATTR_ADDR_FAMILY, af);
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
	bool ack_each = false;
	int one = 1, sndbuf = 1 << 20, rcvbuf = 16 << 20, got;
	int n_services = BENCH_SERVICES, n_dests = BENCH_DESTS, per_sendmsg = 0;
	int afs[2] = {AF_INET, 0};
	socklen_t len = sizeof(got);
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	long sendmsgs = 0, errors = 0, messages = 0, in_batch = 0;
	size_t last_hdr = 0, limit;
	struct timespec t0, t1;

	for (int a = 1; a < argc; a++) {
		const char *v = a + 1 < argc ? argv[a + 1] : NULL;

		if (strcmp(argv[a], "--ack-each") == 0) {
			ack_each = true;
		} else if (v && strcmp(argv[a], "--per-sendmsg") == 0) {
			per_sendmsg = atoi(v), a++;
		} else if (v && strcmp(argv[a], "--services") == 0) {
			n_services = atoi(v), a++;
		} else if (v && strcmp(argv[a], "--dests") == 0) {
			n_dests = atoi(v), a++;
		} else if (v && strcmp(argv[a], "--family") == 0) {
			if (strcmp(v, "6") == 0)
				afs[0] = AF_INET6;
			else if (strcmp(v, "dual") == 0)
				afs[1] = AF_INET6;
			else if (strcmp(v, "4") != 0)
				return fprintf(stderr, "--family: 4, 6 or dual\n"), 2;
			a++;
		} else {
			fprintf(stderr, "usage: ipvs_bench_floor [--ack-each] [--per-sendmsg N] "
					"[--services S] [--dests D] [--family 4|6|dual]\n");
			return 2;
		}
	}
	if (n_services < 1 || n_services > 64000 || n_dests < 0 || n_dests > 55 || per_sendmsg < 0)
		return fprintf(stderr, "services 1-64000, dests 0-55, per-sendmsg >= 0\n"), 2;

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
	for (int f = 0; f < 2 && afs[f]; f++) {
		af = (uint16_t)afs[f];
		for (int i = 0; i < n_services; i++) {
			uint8_t vip[16];

			bench_vip_af(af, i, vip);
			for (int j = -1; j < n_dests; j++) {
				size_t start = off, m;

				m = msg_start(family, j < 0 ? IPVS_CMD_NEW_SERVICE : IPVS_CMD_NEW_DEST,
					      0);
				put_service(vip, BENCH_PORT, j < 0);
				if (j >= 0) {
					uint8_t rip[16];

					bench_rip_af(af, i, j, rip);
					put_dest(rip, BENCH_RS_PORT);
				}
				msg_end(m);
				messages++;
				if (!ack_each && off > limit && start > 0) {
					/* It does not fit: send the batch before it, ACK on its
					 * last message. */
					if (flush(start, last_hdr, &sendmsgs, &errors) < 0)
						return 1;
					memmove(buf, buf + start, off - start);
					off -= start;
					start = 0;
					in_batch = 0;
				}
				last_hdr = start;
				in_batch++;
				if (ack_each || (per_sendmsg && in_batch == per_sendmsg)) {
					if (flush(off, last_hdr, &sendmsgs, &errors) < 0)
						return 1;
					off = 0;
					in_batch = 0;
				}
			}
		}
	}
	if (off && flush(off, last_hdr, &sendmsgs, &errors) < 0)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("floor%s: messages=%ld sendmsg=%ld errors=%ld took %.0f ms\n",
	       ack_each ? " (ack each)" : per_sendmsg ? " (per sendmsg)" : " (batched)", messages,
	       sendmsgs, errors, (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	return errors ? 1 : 0;
}
