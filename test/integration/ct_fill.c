/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test-only conntrack filler for fw_conntrack_scale.sh: creates many conntrack entries over
 * ctnetlink in batches (conntrack -I, one process per entry, would take minutes), and counts
 * them back by group. Plain netlink, no library: the test must not share code with the flush
 * it checks.
 *   ct_fill add   PROTO DST:DPORT RSRC:RPORT COUNT SRC [ , PROTO DST:DPORT RSRC:RPORT COUNT SRC
 * ]... COUNT entries PROTO (udp|tcp) from SRC+i/40000 (the address plus that many), source port
 *     20000+i%40000, to DST:DPORT, answered by RSRC:RPORT; 600 s timeout.
 *   ct_fill count PROTO DST:DPORT RSRC:RPORT [ , ... ]
 *     one dump per family; prints "N" for each group, in order, then "total=N".
 * IPv4 and IPv6 (brackets around an IPv6 address before its port: [fd00::1]:53).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FILL_BATCH_BYTES 65536
#define FILL_MSG_MAX 256

struct fill_ep {
	int family;
	uint8_t addr[16];
	uint16_t port;
};

struct fill_group {
	uint8_t proto;
	struct fill_ep dst, rsrc, src;
	unsigned count;
	unsigned seen;
};

static int fill_ep_parse(const char *text, bool with_port, struct fill_ep *ret)
{
	char buf[80], *host = buf, *colon = NULL;

	snprintf(buf, sizeof(buf), "%s", text);
	if (with_port) {
		colon = strrchr(buf, ':');
		if (!colon)
			return -EINVAL;
		*colon = '\0';
		ret->port = (uint16_t)atoi(colon + 1);
		if (buf[0] == '[') {
			host = buf + 1;
			host[strlen(host) - 1] = '\0';
		}
	}
	memset(ret->addr, 0, sizeof(ret->addr));
	if (inet_pton(AF_INET, host, ret->addr) == 1)
		ret->family = AF_INET;
	else if (inet_pton(AF_INET6, host, ret->addr) == 1)
		ret->family = AF_INET6;
	else
		return -EINVAL;
	return 0;
}

/* Groups from argv ("," between them); with_fill: COUNT and SRC too. Their number or -1. */
static int fill_groups_parse(int argc, char **argv, bool with_fill, struct fill_group *g, int max)
{
	int n = 0, per = with_fill ? 5 : 3;

	for (int i = 0; i < argc; i += per + 1) {
		if (n == max || i + per > argc ||
		    (i + per < argc && strcmp(argv[i + per], ",") != 0))
			return -1;
		memset(&g[n], 0, sizeof(g[n]));
		g[n].proto = strcmp(argv[i], "tcp") == 0 ? IPPROTO_TCP : IPPROTO_UDP;
		if ((strcmp(argv[i], "tcp") != 0 && strcmp(argv[i], "udp") != 0) ||
		    fill_ep_parse(argv[i + 1], true, &g[n].dst) < 0 ||
		    fill_ep_parse(argv[i + 2], true, &g[n].rsrc) < 0 ||
		    g[n].dst.family != g[n].rsrc.family)
			return -1;
		if (with_fill) {
			g[n].count = (unsigned)strtoul(argv[i + 3], NULL, 10);
			if (fill_ep_parse(argv[i + 4], false, &g[n].src) < 0 ||
			    g[n].src.family != g[n].dst.family)
				return -1;
		}
		n++;
	}
	return n;
}

/* A tiny netlink writer over one message buffer. */
struct fill_msg {
	uint8_t *buf;
	size_t len;
};

static struct nlattr *fill_put(struct fill_msg *m, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = (struct nlattr *)(m->buf + m->len);

	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	if (data)
		memcpy(m->buf + m->len + NLA_HDRLEN, data, len);
	m->len += NLA_ALIGN(a->nla_len);
	return a;
}

static struct nlattr *fill_nest(struct fill_msg *m, uint16_t type)
{
	return fill_put(m, type | NLA_F_NESTED, NULL, 0);
}

static void fill_nest_end(struct fill_msg *m, struct nlattr *a)
{
	a->nla_len = (uint16_t)(m->buf + m->len - (uint8_t *)a);
}

static void fill_tuple(struct fill_msg *m, uint16_t type, uint8_t proto, const struct fill_ep *src,
		       const struct fill_ep *dst)
{
	bool v4 = src->family == AF_INET;
	size_t alen = v4 ? 4 : 16;
	uint16_t sport = htons(src->port), dport = htons(dst->port);
	struct nlattr *t = fill_nest(m, type), *n;

	n = fill_nest(m, CTA_TUPLE_IP);
	fill_put(m, v4 ? CTA_IP_V4_SRC : CTA_IP_V6_SRC, src->addr, alen);
	fill_put(m, v4 ? CTA_IP_V4_DST : CTA_IP_V6_DST, dst->addr, alen);
	fill_nest_end(m, n);
	n = fill_nest(m, CTA_TUPLE_PROTO);
	fill_put(m, CTA_PROTO_NUM, &proto, 1);
	fill_put(m, CTA_PROTO_SRC_PORT, &sport, 2);
	fill_put(m, CTA_PROTO_DST_PORT, &dport, 2);
	fill_nest_end(m, n);
	fill_nest_end(m, t);
}

static void fill_header(struct fill_msg *m, uint16_t type, uint16_t flags, int family, uint32_t seq)
{
	struct nlmsghdr *h = (struct nlmsghdr *)m->buf;
	struct nfgenmsg *g = (struct nfgenmsg *)(m->buf + NLMSG_HDRLEN);

	memset(m->buf, 0, NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*g)));
	h->nlmsg_type = (uint16_t)((NFNL_SUBSYS_CTNETLINK << 8) | type);
	h->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
	h->nlmsg_seq = seq;
	g->nfgen_family = (uint8_t)family;
	g->version = NFNETLINK_V0;
	m->len = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(*g));
}

/* The i-th entry of g, at buf; its aligned length. */
static size_t fill_entry(uint8_t *buf, const struct fill_group *g, unsigned i, uint32_t seq)
{
	struct fill_msg m = {.buf = buf};
	struct fill_ep src = g->src;
	uint32_t timeout = htonl(600), low;
	size_t off = src.family == AF_INET ? 0 : 12;

	memcpy(&low, src.addr + off, 4);
	low = htonl(ntohl(low) + i / 40000);
	memcpy(src.addr + off, &low, 4);
	src.port = (uint16_t)(20000 + i % 40000);
	fill_header(&m, IPCTNL_MSG_CT_NEW, NLM_F_CREATE | NLM_F_EXCL, g->dst.family, seq);
	fill_tuple(&m, CTA_TUPLE_ORIG, g->proto, &src, &g->dst);
	fill_tuple(&m, CTA_TUPLE_REPLY, g->proto, &g->rsrc, &src);
	fill_put(&m, CTA_TIMEOUT, &timeout, 4);
	if (g->proto == IPPROTO_TCP) {
		uint8_t established = 3; /* TCP_CONNTRACK_ESTABLISHED */
		struct nlattr *p = fill_nest(&m, CTA_PROTOINFO),
			      *t = fill_nest(&m, CTA_PROTOINFO_TCP);

		fill_put(&m, CTA_PROTOINFO_TCP_STATE, &established, 1);
		fill_nest_end(&m, t);
		fill_nest_end(&m, p);
	}
	((struct nlmsghdr *)buf)->nlmsg_len = (uint32_t)m.len;
	return NLMSG_ALIGN(m.len);
}

/* Reads what is queued without waiting; the number of error messages, or -1 on ENOBUFS. */
static int fill_drain_errors(int fd, uint8_t *buf)
{
	int errors = 0;

	for (;;) {
		ssize_t n = recv(fd, buf, FILL_BATCH_BYTES, MSG_DONTWAIT);

		if (n < 0)
			return errno == ENOBUFS ? -1 : errors;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n))
			if (h->nlmsg_type == NLMSG_ERROR &&
			    ((struct nlmsgerr *)NLMSG_DATA(h))->error != 0) {
				if (errors++ == 0)
					fprintf(
					    stderr, "ct_fill: create: %s\n",
					    strerror(-((struct nlmsgerr *)NLMSG_DATA(h))->error));
			}
	}
}

/*
 * Sends every entry, batched: ctnetlink handles a send's messages before sendmsg returns, and
 * without NLM_F_ACK only failures answer. 0 when all were created.
 */
static int fill_add(int fd, const struct fill_group *g, int n)
{
	uint8_t *buf = malloc(FILL_BATCH_BYTES), *rbuf = malloc(FILL_BATCH_BYTES);
	size_t off = 0;
	uint32_t seq = 1;
	long errors = 0;

	if (!buf || !rbuf)
		return 1;
	for (int k = 0; k < n; k++)
		for (unsigned i = 0; i < g[k].count; i++) {
			off += fill_entry(buf + off, &g[k], i, seq++);
			if (off + FILL_MSG_MAX > FILL_BATCH_BYTES ||
			    (k == n - 1 && i + 1 == g[k].count)) {
				int e;

				if (send(fd, buf, off, 0) < 0) {
					perror("ct_fill: send");
					return 1;
				}
				off = 0;
				e = fill_drain_errors(fd, rbuf);
				if (e < 0) {
					fprintf(stderr, "ct_fill: too many errors (ENOBUFS)\n");
					return 1;
				}
				errors += e;
			}
		}
	free(buf);
	free(rbuf);
	if (errors)
		fprintf(stderr, "ct_fill: %ld entries not created\n", errors);
	return errors ? 1 : 0;
}

static bool fill_ep_is(const struct fill_ep *ep, int family, const uint8_t *addr, uint16_t port)
{
	return ep->family == family && memcmp(ep->addr, addr, family == AF_INET ? 4 : 16) == 0 &&
	       ep->port == port;
}

/* Fills addr and port from a CTA_TUPLE_* nest's source (want_src) or destination. */
static void fill_tuple_get(struct nlattr *tuple, bool want_src, uint8_t *proto, uint8_t *addr,
			   uint16_t *port)
{
	int rem = tuple->nla_len - NLA_HDRLEN;

	for (struct nlattr *a = (struct nlattr *)((uint8_t *)tuple + NLA_HDRLEN);
	     rem >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= rem;
	     rem -= NLA_ALIGN(a->nla_len),
			   a = (struct nlattr *)((uint8_t *)a + NLA_ALIGN(a->nla_len))) {
		int r2 = a->nla_len - NLA_HDRLEN;

		for (struct nlattr *b = (struct nlattr *)((uint8_t *)a + NLA_HDRLEN);
		     r2 >= NLA_HDRLEN && b->nla_len >= NLA_HDRLEN && b->nla_len <= r2;
		     r2 -= NLA_ALIGN(b->nla_len),
				   b = (struct nlattr *)((uint8_t *)b + NLA_ALIGN(b->nla_len))) {
			uint8_t *d = (uint8_t *)b + NLA_HDRLEN;
			int t = b->nla_type & NLA_TYPE_MASK;

			if ((a->nla_type & NLA_TYPE_MASK) == CTA_TUPLE_IP) {
				if (t == (want_src ? CTA_IP_V4_SRC : CTA_IP_V4_DST))
					memcpy(addr, d, 4);
				if (t == (want_src ? CTA_IP_V6_SRC : CTA_IP_V6_DST))
					memcpy(addr, d, 16);
			} else if ((a->nla_type & NLA_TYPE_MASK) == CTA_TUPLE_PROTO) {
				if (t == CTA_PROTO_NUM)
					*proto = d[0];
				if (t == (want_src ? CTA_PROTO_SRC_PORT : CTA_PROTO_DST_PORT))
					*port = (uint16_t)(d[0] << 8 | d[1]);
			}
		}
	}
}

/* Classifies one dumped entry into the groups. */
static void fill_count_entry(struct nlmsghdr *h, struct fill_group *g, int n, long *total)
{
	struct nfgenmsg *nf = NLMSG_DATA(h);
	int rem = (int)h->nlmsg_len - NLMSG_HDRLEN - NLMSG_ALIGN(sizeof(*nf));
	uint8_t dst[16] = {0}, rsrc[16] = {0}, proto = 0, rproto = 0;
	uint16_t dport = 0, rport = 0;

	(*total)++;
	for (struct nlattr *a = (struct nlattr *)((uint8_t *)nf + NLMSG_ALIGN(sizeof(*nf)));
	     rem >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= rem;
	     rem -= NLA_ALIGN(a->nla_len),
			   a = (struct nlattr *)((uint8_t *)a + NLA_ALIGN(a->nla_len))) {
		if ((a->nla_type & NLA_TYPE_MASK) == CTA_TUPLE_ORIG)
			fill_tuple_get(a, false, &proto, dst, &dport);
		else if ((a->nla_type & NLA_TYPE_MASK) == CTA_TUPLE_REPLY)
			fill_tuple_get(a, true, &rproto, rsrc, &rport);
	}
	for (int k = 0; k < n; k++)
		if (g[k].proto == proto && fill_ep_is(&g[k].dst, nf->nfgen_family, dst, dport) &&
		    fill_ep_is(&g[k].rsrc, nf->nfgen_family, rsrc, rport))
			g[k].seen++;
}

static int fill_count(int fd, struct fill_group *g, int n)
{
	static const int families[] = {AF_INET, AF_INET6};
	uint8_t *buf = malloc(FILL_BATCH_BYTES);
	long total = 0;

	if (!buf)
		return 1;
	for (int f = 0; f < 2; f++) {
		struct fill_msg m = {.buf = buf};
		bool done = false;

		fill_header(&m, IPCTNL_MSG_CT_GET, NLM_F_DUMP, families[f], 1);
		((struct nlmsghdr *)buf)->nlmsg_len = (uint32_t)m.len;
		if (send(fd, buf, m.len, 0) < 0) {
			perror("ct_fill: send");
			return 1;
		}
		while (!done) {
			ssize_t len = recv(fd, buf, FILL_BATCH_BYTES, 0);

			if (len < 0) {
				perror("ct_fill: recv");
				return 1;
			}
			for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
			     h = NLMSG_NEXT(h, len)) {
				if (h->nlmsg_type == NLMSG_DONE) {
					done = true;
				} else if (h->nlmsg_type == NLMSG_ERROR) {
					fprintf(
					    stderr, "ct_fill: dump: %s\n",
					    strerror(-((struct nlmsgerr *)NLMSG_DATA(h))->error));
					return 1;
				} else {
					fill_count_entry(h, g, n, &total);
				}
			}
		}
	}
	for (int k = 0; k < n; k++)
		printf("%u\n", g[k].seen);
	printf("total=%ld\n", total);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	struct fill_group g[32];
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	bool add = argc > 1 && strcmp(argv[1], "add") == 0;
	int n, fd;

	if (argc < 3 || (!add && strcmp(argv[1], "count") != 0) ||
	    (n = fill_groups_parse(argc - 2, argv + 2, add, g, 32)) <= 0) {
		fprintf(stderr, "usage: ct_fill add PROTO DST:DPORT RSRC:RPORT COUNT SRC [, ...]\n"
				"       ct_fill count PROTO DST:DPORT RSRC:RPORT [, ...]\n");
		return 2;
	}
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (fd < 0 || connect(fd, (struct sockaddr *)&kernel, sizeof(kernel)) < 0) {
		perror("ct_fill: netlink");
		return 1;
	}
	n = add ? fill_add(fd, g, n) : fill_count(fd, g, n);
	close(fd);
	return n;
}
