/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test-only driver for the fw_*.sh guest tests: loads --from files, plans this node's table,
 * derives the packet-path sets and applies them to kipvs's nftables table through ipvs/fw_nft.c
 * (until the node sync calls fw itself), then verifies by reading the sets back.
 *   fw_driver apply FILE --node NAME --node-ip IP [--cluster-cidr CIDR] [--masquerade-all]
 *             [--phase add|delete|all] [--no-verify] [--then FILE2]... [--ipvs [--previous FILE0]] [--strict-arp]
 *   (each --then FILE is synced after, with the same handle: element adds and deletes only;
 *   --ipvs: the IPVS table too, through fw_node_sync() and a kipvs state file; --previous FILE:
 *   the table the last sync made, for the UDP conntrack cleanup)
 *   fw_driver print FILE --node NAME --node-ip IP      (the derived elements, no kernel)
 *   fw_driver verify FILE --node NAME --node-ip IP [--cluster-cidr CIDR]  (fw_verify() once:
 *             structure, reinstalled when it drifted, then the sets; exit 0 matched, 3 differed)
 *   fw_driver remove        fw_driver forward-drop     (exit 0 when a foreign drop is found)
 *   fw_driver conntrack-flush VIP PORT [KEEP_IP:PORT]... [, VIP PORT [KEEP_IP:PORT]...]...
 *             (UDP entries, all the VIPs in one flush; prints deleted=N, on stderr scanned=,
 *             matched=, ms= and the peak RSS vmhwm_kb=)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fw.h"
#include "ipvs.h"
#include "kube_cache.h"
#include "kube_source.h"
#include "net_addr.h"
#include "plan.h"
#include "plan_ct.h"
#include "plan_fw.h"

static int usage(void)
{
	fprintf(stderr, "usage: fw_driver apply|print|verify FILE --node NAME --node-ip IP "
			"[--cluster-cidr CIDR] [--masquerade-all] [--phase add|delete|all]\n"
			"       fw_driver remove | forward-drop\n");
	return 2;
}

/* The sets for FILE as node NAME with address ip (may be NULL). 0 or -errno (logged). */
static int driver_want(const char *file, const char *node, const struct net_addr *ip,
		       struct plan_fw *ret, struct plan_table *ret_plan)
{
	struct kube_cache *cache = kube_cache_new();
	struct plan_table plan = {0};
	int r = -ENOMEM;

	if (!cache || (node && kube_cache_set_node_name(cache, node) < 0))
		goto out;
	if ((r = kube_source_load(cache, file, NULL)) < 0) {
		fprintf(stderr, "fw_driver: load %s: %s\n", file, strerror(-r));
		goto out;
	}
	struct plan_input pin = {
	    .cache = cache, .node_name = node, .node_addrs = ip, .n_node_addrs = ip ? 1 : 0};
	if ((r = plan_build(&pin, &plan)) < 0)
		goto out;
	struct plan_fw_input fin = {
	    .plan = &plan, .cache = cache, .node_addrs = ip, .n_node_addrs = ip ? 1 : 0};
	r = plan_fw_build(&fin, ret);
	if (r >= 0 && ret_plan) {
		*ret_plan = plan;
		plan = (struct plan_table){0};
	}
out:
	plan_table_clear(&plan);
	kube_cache_free(cache);
	return r < 0 ? r : 0;
}

/* With --ipvs: the node sync through fw_node_sync(), then both read-backs; 0 or 1. */
static int driver_node_sync(struct fw *fw, struct ipvs_node *node,
			    const struct plan_table *previous, const struct plan_table *plan,
			    const struct plan_fw *want)
{
	struct ipvs_node_result res = {0};
	struct fw_node_result fres = {0};
	char line[256];
	int r = fw_node_sync(fw, node, previous, plan, NULL, want, &res, &fres);

	if (r < 0) {
		fprintf(stderr, "fw_driver: node sync: %s\n", strerror(-r));
		return 1;
	}
	ipvs_node_result_format(&res, line, sizeof(line));
	fprintf(stderr, "%s\nfw_driver: node sync added=%u deleted=%u errors=%d,%d conntrack=%u\n",
		line, fres.add.added, fres.del.deleted, fres.add_err, fres.del_err,
		fres.conntrack_deleted);
	if (fres.add_err || fres.del_err || fres.conntrack_err || !ipvs_node_matches(node, plan) ||
	    fw_verify(fw, want) != 1) {
		fprintf(stderr, "fw_driver: the kernel does not match after the node sync\n");
		return 1;
	}
	fprintf(stderr, "fw_driver: verified %zu elements and the IPVS table\n", want->n_elems);
	return 0;
}

/* One sync and (phase all) a read-back; 0 or 1, messages on stderr. */
static int driver_sync(struct fw *fw, const struct plan_fw *want, enum fw_phase phase, bool verify)
{
	struct fw_sync_result res;
	char err[512] = "";
	int r;

	if ((r = fw_sync(fw, want, phase, &res, err, sizeof(err))) < 0) {
		fprintf(stderr, "fw_driver: sync: %s (%s)\n", err, strerror(-r));
		return 1;
	}
	fprintf(stderr, "fw_driver: sync added=%u deleted=%u resynced=%d\n", res.added, res.deleted,
		res.resynced);
	if (verify && phase == FW_PHASE_ALL) {
		r = fw_verify(fw, want);
		if (r != 1) {
			fprintf(stderr, "fw_driver: verify: %s\n",
				r == 0 ? "differs" : strerror(-r));
			return 1;
		}
		fprintf(stderr, "fw_driver: verified %zu elements\n", want->n_elems);
	}
	return 0;
}

/* A peak-RSS line from /proc/self/status ("VmHWM: N kB"), in kB; 0 when unreadable. */
static long driver_vmhwm_kb(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[128];
	long kb = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/*
 * conntrack-flush VIP PORT [KEEP_IP:PORT]... [, VIP PORT [KEEP_IP:PORT]...]...: one set, one
 * ipvs_conntrack_udp_flush(); prints deleted=N, and on stderr what it scanned, the time and
 * the process's peak RSS.
 */
static int driver_conntrack_flush(int argc, char **argv)
{
	struct plan_dest keep[64];
	struct plan_ct set = {0};
	struct ipvs_conntrack_result res = {0};
	struct timespec t0, t1;
	int r = 0, i = 0;

	while (i < argc && r >= 0) {
		struct net_addr vip;
		size_t n_keep = 0;
		uint16_t port;

		if (i + 1 >= argc || net_addr_parse(argv[i], &vip) < 0)
			goto usage;
		port = (uint16_t)atoi(argv[i + 1]);
		for (i += 2; i < argc && strcmp(argv[i], ",") != 0; i++) {
			char buf[64], *colon;

			snprintf(buf, sizeof(buf), "%s", argv[i]);
			colon = strrchr(buf, ':');
			if (!colon || n_keep == 64)
				goto usage;
			*colon = '\0';
			keep[n_keep] = (struct plan_dest){.port = (uint16_t)atoi(colon + 1)};
			if (net_addr_parse(buf, &keep[n_keep++].addr) < 0)
				goto usage;
		}
		i += i < argc; /* the "," */
		r = plan_ct_add(&set, &vip, port, keep, n_keep);
	}
	if (r < 0) {
		plan_ct_clear(&set);
		return 1;
	}
	plan_ct_sort(&set);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = ipvs_conntrack_udp_flush(&set, &res);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	plan_ct_clear(&set);
	printf("deleted=%u\n", res.deleted);
	fprintf(stderr,
		"fw_driver: conntrack-flush scanned=%u matched=%u deleted=%u ms=%ld vmhwm_kb=%ld\n",
		res.scanned, res.matched, res.deleted,
		(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000,
		driver_vmhwm_kb());
	if (r < 0)
		fprintf(stderr, "fw_driver: conntrack-flush: %s\n", strerror(-r));
	return r < 0 ? 1 : 0;
usage:
	plan_ct_clear(&set);
	return usage();
}

int main(int argc, char **argv)
{
	struct net_prefix cidrs[4];
	struct net_addr node_ip = {0};
	struct fw_config cfg = {.cluster_cidrs = cidrs};
	const char *node = NULL, *file;
	enum fw_phase phase = FW_PHASE_ALL;
	bool verify = true, have_ip = false, with_ipvs = false, strict_arp = false;
	const char *then[8], *previous_file = NULL;
	size_t n_then = 0;
	char err[512] = "";
	int r;

	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "remove") == 0) {
		r = fw_table_remove(NULL, err, sizeof(err));
		if (r < 0)
			fprintf(stderr, "fw_driver: remove: %s\n", err);
		return r < 0 ? 1 : 0;
	}
	if (strcmp(argv[1], "conntrack-flush") == 0 && argc >= 4)
		return driver_conntrack_flush(argc - 2, argv + 2);
	if (strcmp(argv[1], "forward-drop") == 0) {
		struct fw *fw = NULL;
		bool drop;

		if (fw_open(&cfg, &fw) < 0)
			return 1;
		drop = fw_forward_drop_is_present(fw);
		fw_free(fw);
		return drop ? 0 : 1;
	}
	if (argc < 3)
		return usage();
	file = argv[2];
	for (int i = 3; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--node") == 0 && v) {
			node = v;
			i++;
		} else if (strcmp(a, "--node-ip") == 0 && v) {
			if (net_addr_parse(v, &node_ip) < 0)
				return usage();
			have_ip = true;
			i++;
		} else if (strcmp(a, "--cluster-cidr") == 0 && v && cfg.n_cluster_cidrs < 4) {
			if (net_prefix_parse(v, &cidrs[cfg.n_cluster_cidrs++]) < 0)
				return usage();
			i++;
		} else if (strcmp(a, "--masquerade-all") == 0) {
			cfg.masquerade_all = true;
		} else if (strcmp(a, "--then") == 0 && v && n_then < 8) {
			then[n_then++] = v;
			i++;
		} else if (strcmp(a, "--previous") == 0 && v) {
			previous_file = v;
			i++;
		} else if (strcmp(a, "--strict-arp") == 0) {
			strict_arp = true;
		} else if (strcmp(a, "--ipvs") == 0) {
			with_ipvs = true;
		} else if (strcmp(a, "--no-verify") == 0) {
			verify = false;
		} else if (strcmp(a, "--phase") == 0 && v) {
			phase = strcmp(v, "add") == 0	   ? FW_PHASE_ADD
				: strcmp(v, "delete") == 0 ? FW_PHASE_DELETE
							   : FW_PHASE_ALL;
			i++;
		} else {
			return usage();
		}
	}

	struct plan_fw want = {0};
	struct fw *fw = NULL;
	int rc = 1;

	struct plan_table plan = {0}, previous = {0};
	struct ipvs_node *inode = NULL;

	if (driver_want(file, node, have_ip ? &node_ip : NULL, &want, &plan) < 0)
		goto out;
	if (strcmp(argv[1], "print") == 0) {
		for (size_t i = 0; i < want.n_elems; i++) {
			char a[NET_ADDR_STRLEN] = "";

			if (want.elems[i].addr.family)
				net_addr_format(&want.elems[i].addr, a);
			printf("%s %s %u\n", plan_fw_set_to_string(want.elems[i].set), a,
			       want.elems[i].port);
		}
		rc = 0;
		goto out;
	}
	if (strcmp(argv[1], "verify") == 0) {
		/* One verification, as the daemon's periodic one: structure, then the sets. */
		if ((r = fw_open(&cfg, &fw)) < 0)
			goto out;
		r = fw_verify(fw, &want);
		fprintf(stderr, "fw_driver: verify: %s\n",
			r == 1 ? "matched" : r == 0 ? "differed (repaired)" : strerror(-r));
		rc = r == 1 ? 0 : r == 0 ? 3 : 1;
		goto out;
	}
	if (strcmp(argv[1], "apply") != 0) {
		rc = usage();
		goto out;
	}
	if ((r = fw_open(&cfg, &fw)) < 0)
		goto out;
	if (fw_start_checks(fw, &cfg, "/proc", strict_arp) < 0)
		goto out;
	if ((r = fw_base_ensure(fw, err, sizeof(err))) < 0) {
		fprintf(stderr, "fw_driver: base: %s (%s)\n", err, strerror(-r));
		goto out;
	}
	fprintf(stderr, "fw_driver: base %s\n", r ? "created" : "kept");
	if (with_ipvs) {
		struct ipvs_node_config ncfg = {.proc_root = "/proc",
						.state_dir = IPVS_NODE_STATE_DIR,
						.dummy_ifname = "kube-ipvs0"};

		if ((r = ipvs_node_open(&ncfg, &inode, err, sizeof(err))) < 0) {
			fprintf(stderr, "fw_driver: ipvs node: %s\n", err);
			goto out;
		}
	}
	if (previous_file) {
		struct plan_fw unused = {0};

		r = driver_want(previous_file, node, have_ip ? &node_ip : NULL, &unused, &previous);
		plan_fw_clear(&unused);
		if (r < 0)
			goto out;
	}
	if (inode ? driver_node_sync(fw, inode, previous_file ? &previous : NULL, &plan, &want)
		  : driver_sync(fw, &want, phase, verify))
		goto out;
	for (size_t t = 0; t < n_then; t++) {
		struct plan_fw next = {0};
		struct plan_table next_plan = {0};

		if (driver_want(then[t], node, have_ip ? &node_ip : NULL, &next, &next_plan) < 0)
			goto out;
		r = inode ? driver_node_sync(fw, inode, &plan, &next_plan, &next)
			  : driver_sync(fw, &next, phase, verify);
		plan_fw_clear(&next);
		plan_table_clear(&plan);
		plan = next_plan;
		if (r)
			goto out;
	}
	rc = 0;
out:
	ipvs_node_free(inode);
	plan_table_clear(&plan);
	plan_table_clear(&previous);
	fw_free(fw);
	plan_fw_clear(&want);
	return rc;
}
