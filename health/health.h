/* SPDX-License-Identifier: Apache-2.0 */
/*
 * health/: the proxy's own health and metrics over HTTP. Public interface.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Formats a time as Go's RFC 3339 with nanoseconds in UTC ("2026-11-22T01:58:49.5Z"), the
 * format of kube-proxy's lastUpdated/currentTime. Returns the length, or -ENOSPC.
 */
int health_format_rfc3339(int64_t unix_ns, char *buf, size_t size)
	__attribute__((warn_unused_result));

/*
 * Writes kube-proxy's /healthz (with_node_eligible) or /livez JSON body into buf.
 * Returns the length, or -ENOSPC.
 */
int health_proxy_body(char *buf, size_t size, int64_t last_updated_ns, int64_t now_ns,
		      bool with_node_eligible, bool node_eligible)
	__attribute__((warn_unused_result));
