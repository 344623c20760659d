/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reads /proc/net/ip_vs: every virtual server and real server of this network namespace in one
 * file, where netlink needs one destination dump per service. Measured slower than netlink at
 * 10 000 services (the kernel's seq_file restarts its walk at every page; docs/ipvs.md), so the
 * verification uses netlink; this stays as the alternative and for diagnostics.
 */
#include "ipvs_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/ip_vs.h>

#include "cleanup.h"

static void fclosep(FILE **f)
{
	if (*f)
		(void)fclose(*f);
}

/* "0A000001:0050" or "[fd00:0000:...:0001]:0050". 0 or -EBADMSG. */
static int ipvs_procfs_addr_port(const char *text, struct ipvs_key *key)
{
	unsigned long port;
	char *end;

	memset(key, 0, sizeof(*key));
	if (text[0] == '[') {
		char buf[INET6_ADDRSTRLEN + 1];
		const char *close = strchr(text, ']');
		size_t len;

		if (!close || close[1] != ':')
			return -EBADMSG;
		len = (size_t)(close - text - 1);
		if (len >= sizeof(buf))
			return -EBADMSG;
		memcpy(buf, text + 1, len);
		buf[len] = '\0';
		if (inet_pton(AF_INET6, buf, key->addr) != 1)
			return -EBADMSG;
		key->af = AF_INET6;
		text = close + 2;
	} else {
		unsigned long ip = strtoul(text, &end, 16);
		uint32_t be;

		if (end != text + 8 || *end != ':')
			return -EBADMSG;
		be = htonl((uint32_t)ip);
		memcpy(key->addr, &be, 4);
		key->af = AF_INET;
		text = end + 1;
	}
	port = strtoul(text, &end, 16);
	if (end == text || *end || port > 0xffff)
		return -EBADMSG;
	key->port = (uint16_t)port;
	return 0;
}

static int ipvs_procfs_protocol(const char *name)
{
	if (strcmp(name, "TCP") == 0)
		return IPPROTO_TCP;
	if (strcmp(name, "UDP") == 0)
		return IPPROTO_UDP;
	if (strcmp(name, "SCTP") == 0)
		return IPPROTO_SCTP;
	return -1;
}

static uint32_t ipvs_procfs_fwd(const char *name)
{
	if (strcmp(name, "Masq") == 0)
		return IP_VS_CONN_F_MASQ;
	if (strcmp(name, "Local") == 0)
		return IP_VS_CONN_F_LOCALNODE;
	if (strcmp(name, "Tunnel") == 0)
		return IP_VS_CONN_F_TUNNEL;
	if (strcmp(name, "Route") == 0)
		return IP_VS_CONN_F_DROUTE;
	return IP_VS_CONN_F_BYPASS;
}

/*
 * Calls on_service for each keyed virtual server; it returns the entry that the following real
 * servers go into, or NULL to skip them. Firewall-mark services are skipped. 0 or -errno.
 */
static int ipvs_procfs_walk(FILE *f,
			    struct ipvs_vs *(*on_service)(const struct ipvs_service *, void *),
			    void *userdata)
{
	char line[512];
	struct ipvs_vs *cur = NULL;
	unsigned lineno = 0;

	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *tok[8] = {0};
		size_t n = 0;

		lineno++;
		if (lineno <= 3) /* version and two header lines */
			continue;
		for (char *t = strtok_r(line, " \t\n", &save); t && n < ARRAY_SIZE(tok);
		     t = strtok_r(NULL, " \t\n", &save))
			tok[n++] = t;
		if (n == 0)
			continue;
		if (strcmp(tok[0], "->") == 0) {
			struct ipvs_dest dest = {0};
			struct ipvs_rs *rs;

			if (!cur)
				continue;
			if (n < 6 || ipvs_procfs_addr_port(tok[1], &dest.key) < 0)
				return -EBADMSG;
			dest.fwd = ipvs_procfs_fwd(tok[2]);
			dest.weight = (uint32_t)strtoul(tok[3], NULL, 10);
			rs = ipvs_vs_put_rs(cur, &dest);
			if (!rs)
				return -ENOMEM;
			rs->state.active_conns = (uint32_t)strtoul(tok[4], NULL, 10);
			rs->state.inact_conns = (uint32_t)strtoul(tok[5], NULL, 10);
			continue;
		}
		cur = NULL;
		{
			struct ipvs_service svc = {0};
			int proto = ipvs_procfs_protocol(tok[0]);

			if (proto < 0 || n < 3) /* FWM, or a protocol kipvs does not key */
				continue;
			if (ipvs_procfs_addr_port(tok[1], &svc.key) < 0)
				return -EBADMSG;
			svc.key.protocol = (uint8_t)proto;
			snprintf(svc.sched, sizeof(svc.sched), "%s", tok[2]);
			svc.netmask = svc.key.af == AF_INET6 ? 128 : 0xffffffffu;
			for (size_t i = 3; i < n; i++) {
				if (strcmp(tok[i], "ops") == 0)
					svc.flags |= IP_VS_SVC_F_ONEPACKET;
				if (strcmp(tok[i], "persistent") == 0 && i + 2 < n) {
					svc.flags |= IP_VS_SVC_F_PERSISTENT;
					/* Printed in jiffies by some kernels: netlink has the
					 * truth. */
					svc.timeout = (uint32_t)strtoul(tok[i + 1], NULL, 10);
					svc.netmask =
					    htonl((uint32_t)strtoul(tok[i + 2], NULL, 16));
				}
			}
			cur = on_service(&svc, userdata);
		}
	}
	return ferror(f) ? -EIO : 0;
}

static struct ipvs_vs *ipvs_procfs_put_service(const struct ipvs_service *svc, void *userdata)
{
	return ipvs_table_put(userdata, svc);
}

int ipvs_procfs_parse(FILE *f, struct ipvs_table *ret_table)
{
	return ipvs_procfs_walk(f, ipvs_procfs_put_service, ret_table);
}

static FILE *ipvs_procfs_open(const char *proc_root)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/net/ip_vs", proc_root) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	return fopen(path, "re");
}

int ipvs_procfs_read(const char *proc_root, struct ipvs_table *ret_table)
{
	_cleanup_(fclosep) FILE *f = ipvs_procfs_open(proc_root);

	if (!f)
		return -errno;
	return ipvs_procfs_parse(f, ret_table);
}

/* Real servers go into the services netlink reported; others appeared since and are skipped. */
static struct ipvs_vs *ipvs_procfs_find_service(const struct ipvs_service *svc, void *userdata)
{
	return ipvs_table_find(userdata, &svc->key);
}

int ipvs_nl_table_read_procfs(struct ipvs_ctx *ctx, const char *proc_root,
			      struct ipvs_table *ret_table)
{
	_cleanup_(fclosep) FILE *f = NULL;
	int r;

	r = ipvs_nl_services_dump(ctx, ipvs_table_service_cb, ret_table);
	if (r < 0)
		return r;
	f = ipvs_procfs_open(proc_root);
	if (!f)
		return -errno;
	/* A big stdio buffer: the file is read in few system calls. */
	(void)setvbuf(f, NULL, _IOFBF, 1 << 20);
	return ipvs_procfs_walk(f, ipvs_procfs_find_service, ret_table);
}
