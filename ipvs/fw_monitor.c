/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The nftables monitor (ipvs/fw.h): a netlink socket on the kernel's nftables notification
 * group, so that a change someone else makes to kipvs's table (an element, rule, chain or set
 * deleted or added by hand, the table flushed) is seen at once instead of by reading every set
 * back each period: at 100 000 elements that read-back was most of an idle daemon's CPU.
 */
#include "fw.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "cleanup.h"

/*
 * The table an nftables notification is about: attribute 1 of every message kind kipvs cares
 * for (NFTA_TABLE_NAME, NFTA_CHAIN_TABLE, NFTA_RULE_TABLE, NFTA_SET_TABLE,
 * NFTA_SET_ELEM_LIST_TABLE).
 */
#define FW_MONITOR_TABLE_ATTR 1

struct fw_monitor {
	struct mnl_socket *sock;
	char *table;
};

int fw_monitor_open(const char *table, struct fw_monitor **ret_monitor)
{
	struct fw_monitor *m = calloc(1, sizeof(*m));
	int r;

	if (!m)
		return -ENOMEM;
	m->table = strdup(table ? table : FW_TABLE_DEFAULT);
	m->sock = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!m->table || !m->sock) {
		r = m->table ? -errno : -ENOMEM;
		fw_monitor_free(m);
		return r;
	}
	if (mnl_socket_bind(m->sock, 1U << (NFNLGRP_NFTABLES - 1), MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		fw_monitor_free(m);
		return r;
	}
	*ret_monitor = m;
	return 0;
}

struct fw_monitor *fw_monitor_free(struct fw_monitor *m)
{
	if (!m)
		return NULL;
	if (m->sock)
		mnl_socket_close(m->sock);
	free(m->table);
	free(m);
	return NULL;
}

int fw_monitor_fd(const struct fw_monitor *m)
{
	return mnl_socket_get_fd(m->sock);
}

/* Whether one notification is about table inet <m->table>. */
static bool fw_monitor_is_ours(const struct fw_monitor *m, const struct nlmsghdr *nlh)
{
	const struct nfgenmsg *g;
	const struct nlattr *a;

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
	    nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*g)))
		return false;
	g = mnl_nlmsg_get_payload(nlh);
	if (g->nfgen_family != NFPROTO_INET)
		return false;
	mnl_attr_for_each(a, nlh, sizeof(*g))
	{
		if (mnl_attr_get_type(a) == FW_MONITOR_TABLE_ATTR &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			return strcmp(mnl_attr_get_str(a), m->table) == 0;
	}
	return false;
}

int fw_monitor_drain(struct fw_monitor *m)
{
	_cleanup_free_ char *buf = malloc(MNL_SOCKET_BUFFER_SIZE);
	int touched = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(m->sock, buf, MNL_SOCKET_BUFFER_SIZE);
		const struct nlmsghdr *nlh;
		int len;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return touched;
		if (n < 0 && errno == ENOBUFS) {
			touched = 1; /* notifications were lost: anything may have changed */
			continue;
		}
		if (n <= 0)
			return n < 0 ? -errno : touched;
		len = (int)n;
		for (nlh = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(nlh, len);
		     nlh = mnl_nlmsg_next(nlh, &len))
			if (fw_monitor_is_ours(m, nlh))
				touched = 1;
	}
}
