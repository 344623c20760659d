/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib-internal: the option table, the value parsers shared by the flags and the
 * KubeProxyConfiguration reader, and the reader itself. Included by lib/kube_options*.c and the
 * unit tests only.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kube_options.h"

#define KUBE_OPTIONS_HEALTHZ_PORT 10256
#define KUBE_OPTIONS_METRICS_PORT 10249
#define KUBE_OPTIONS_SYNC_PERIOD_DEFAULT "30s"
#define KUBE_OPTIONS_HOSTNAME_MAX 253
#define KUBE_OPTIONS_WHY_MAX 160

/*
 * Applies one value. append is true for the second and later use of a repeatable flag on the
 * command line (the first use replaces the file's value). Returns 0, -EINVAL with the reason
 * in why (without the flag's name), or -ENOMEM.
 */
typedef int (*kube_option_set_fn)(struct kube_options *o, const char *value, bool append,
				  char *why, size_t why_size);

struct kube_option {
	const char *name; /* without dashes: "ipvs-sync-period"; "v" is also -v */
	const char *arg; /* the value's name in --help; NULL for a boolean */
	unsigned cmds; /* enum kube_options_cmd bits */
	const char *def; /* the default, applied through set; NULL: none (unset) */
	const char *help;
	kube_option_set_fn set;
};

/* The table, in --help order. */
extern const struct kube_option kube_options_table[];
extern const size_t kube_options_table_size;

/* ---- value parsers (lib/kube_options_value.c); each writes a reason into why on -EINVAL ---- */

/* A Go duration that must not be negative, in milliseconds. bare_seconds: "30" means 30s. */
int kube_options_ms_parse(const char *text, bool bare_seconds, uint64_t *ret_ms, char *why,
			  size_t why_size) __attribute__((warn_unused_result));

/* Go's strconv.ParseBool: 1 t T TRUE true True, 0 f F FALSE false False. */
int kube_options_bool_parse(const char *text, bool *ret, char *why, size_t why_size)
	__attribute__((warn_unused_result));

/* A CIDR with its prefix length (a bare address is refused); appends it to *v. */
int kube_options_cidr_add(struct net_prefix **v, size_t *n, const char *text, char *why,
			  size_t why_size) __attribute__((warn_unused_result));

/* Comma-separated CIDRs, each added with kube_options_cidr_add(); "" adds none. */
int kube_options_cidr_list_add(struct net_prefix **v, size_t *n, const char *text, char *why,
			       size_t why_size) __attribute__((warn_unused_result));

/* "IP:port", "[IPv6]:port", "IP" or "[IPv6]" (default_port); "" or port 0: disabled. */
int kube_options_bind_parse(const char *text, uint16_t default_port,
			    struct kube_options_bind *ret, char *why, size_t why_size)
	__attribute__((warn_unused_result));

/* At most two cluster CIDRs, and two only when one is IPv4 and the other IPv6. */
int kube_options_cluster_cidrs_check(const struct kube_options *o, char *why, size_t why_size)
	__attribute__((warn_unused_result));

/* A node name: trimmed, lower-cased (as kube-proxy does) into a new string. */
int kube_options_hostname_parse(const char *text, char **ret, char *why, size_t why_size)
	__attribute__((warn_unused_result));

/* A Kubernetes label value (service.kubernetes.io/service-proxy-name=VALUE). */
bool kube_options_label_value_is_valid(const char *text);

/* Replaces *dst with a copy of value. 0 or -ENOMEM. */
int kube_options_string_set(char **dst, const char *value) __attribute__((warn_unused_result));

/* ---- the setters the table and the file reader share (lib/kube_options.c) ---- */

int kube_options_set_scheduler(struct kube_options *o, const char *value, bool append, char *why,
			       size_t why_size) __attribute__((warn_unused_result));
int kube_options_set_nodeport_addresses(struct kube_options *o, const char *value, bool append,
					char *why, size_t why_size)
	__attribute__((warn_unused_result));
int kube_options_set_cluster_cidr(struct kube_options *o, const char *value, bool append,
				  char *why, size_t why_size) __attribute__((warn_unused_result));

/* ---- the KubeProxyConfiguration reader (lib/kube_options_file.c) ---- */

/*
 * Reads path (YAML or JSON) into o, over the defaults already there: the fields kipvs uses are
 * applied (a zero value means kube-proxy's default, as kube-proxy reads it); every other field
 * with a value gets one warning line naming it, and a mode other than ipvs one more. Returns 0,
 * -EINVAL with one line in err (`kipvs: invalid value "5x" for ipvs.syncPeriod in FILE: ...`),
 * or -ENOMEM.
 */
int kube_options_file_load(struct kube_options *o, const char *path, char *err, size_t err_size)
	__attribute__((warn_unused_result));
