/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every setting of kipvs in one struct: the kube-proxy flags whose meaning kipvs shares, kipvs's
 * own flags, and `--config FILE` holding a kube-proxy KubeProxyConfiguration
 * (kubeproxy.config.k8s.io/v1alpha1). Flags on the command line override the file. `kipvs plan`
 * and `kipvs run` parse through the same table; docs/flags.md lists it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "net_addr.h"

/* The subcommands; each flag applies to a set of them. cleanup takes every flag run takes. */
enum kube_options_cmd {
	KUBE_OPTIONS_CMD_RUN = 1u << 0,
	KUBE_OPTIONS_CMD_PLAN = 1u << 1,
	KUBE_OPTIONS_CMD_CLEANUP = 1u << 2,
};

/* An address to serve HTTP on. port 0 means disabled (the address is then all zero). */
struct kube_options_bind {
	struct net_addr addr;
	uint16_t port;
};

/*
 * The effective settings after defaults, the --config file and the flags. Strings and arrays
 * are owned (kube_options_clear() frees them). Durations are in milliseconds (Go durations
 * below a millisecond are truncated).
 */
struct kube_options {
	char *config; /* --config FILE; NULL when not given */

	/* Where the objects come from. */
	char *kubeconfig; /* --kubeconfig, clientConnection.kubeconfig; NULL: in-cluster */
	char *master; /* --master; NULL: the kubeconfig's server */
	char *from; /* --from PATH; NULL: the API server */
	uint64_t sync_timeout_ms; /* --sync-timeout: wait for the first full list */

	/* This node. */
	char *hostname; /* --hostname-override, hostnameOverride, else the host name; lower case */
	struct net_addr *node_ips; /* --node-ip, repeatable */
	size_t n_node_ips;
	struct net_prefix *nodeport_cidrs; /* --nodeport-addresses; none: the default set */
	size_t n_nodeport_cidrs;
	bool nodeport_primary; /* --nodeport-addresses primary: the default set, said so */
	char *proxy_name; /* --service-proxy-name, serviceProxyName; NULL: not set */

	/* Traffic. */
	struct net_prefix *cluster_cidrs; /* --cluster-cidr, clusterCIDR: at most one per family */
	size_t n_cluster_cidrs;
	bool masquerade_all; /* --masquerade-all, iptables.masqueradeAll */

	/* IPVS. */
	char *scheduler; /* --ipvs-scheduler, ipvs.scheduler; never NULL after parsing */
	uint64_t sync_period_ms; /* --ipvs-sync-period, ipvs.syncPeriod; > 0 */
	uint64_t min_sync_period_ms; /* --ipvs-min-sync-period; <= sync_period_ms */
	struct net_prefix *exclude_cidrs; /* --ipvs-exclude-cidrs, ipvs.excludeCIDRs */
	size_t n_exclude_cidrs;
	bool strict_arp; /* --ipvs-strict-arp, ipvs.strictARP */
	uint64_t tcp_timeout_ms; /* --ipvs-tcp-timeout; 0: leave the kernel's value */
	uint64_t tcpfin_timeout_ms; /* --ipvs-tcpfin-timeout; 0: leave the kernel's value */
	uint64_t udp_timeout_ms; /* --ipvs-udp-timeout; 0: leave the kernel's value */
	char *dummy_interface; /* --dummy-interface: where virtual addresses are bound */
	uint64_t drain_timeout_ms; /* --ipvs-drain-timeout: weight-0 real servers live this long */

	/* Serving and logging. */
	struct kube_options_bind healthz; /* --healthz-bind-address, healthzBindAddress */
	struct kube_options_bind metrics; /* --metrics-bind-address, metricsBindAddress */
	int verbosity; /* -v, --v, logging.verbosity */

	/* One-shot modes. */
	bool once; /* run --once: one full sync, then exit */
	bool diff; /* plan --diff: print the operations a sync would make */

	bool help; /* -h or --help was given; nothing else was parsed */
};

/*
 * Fills opts (zeroed by the caller) for subcommand cmd from argv (argv[0] is the subcommand's
 * name): defaults, then the --config file, then the flags in order. Flags that do not apply to
 * cmd are unknown. Warns once on the log (component=config) about each field of the file
 * kipvs does not use. Returns 0; -EINVAL with one line in err for a usage error or an invalid
 * value (`kipvs: invalid value "x" for --ipvs-sync-period: ...`), meaning exit status 2; or
 * -ENOMEM. On failure opts may be half filled: kube_options_clear() it either way.
 */
int kube_options_parse(struct kube_options *opts, enum kube_options_cmd cmd, int argc,
		       char **argv, char *err, size_t err_size) __attribute__((warn_unused_result));

/* Frees what opts owns and zeroes it. */
void kube_options_clear(struct kube_options *opts);

/* Writes the option lines of cmd's --help, generated from the table (one line per flag). */
void kube_options_help_write(FILE *out, enum kube_options_cmd cmd);

/*
 * Parses a Go duration ("300ms", "1m0s", "2h45m", "-1.5h", "0"): a sign, then one or more
 * decimal numbers each with a unit (ns, us, µs, ms, s, m, h). 0 and nanoseconds in ret_ns, or
 * -EINVAL (no unit, unknown unit, empty) or -ERANGE (beyond ±292 years).
 */
int kube_options_duration_parse(const char *text, int64_t *ret_ns)
	__attribute__((warn_unused_result));
