/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/: the Kubernetes side of kipvs (API client, decoding, caches, config, and the
 * translation to the desired IPVS table). This is the one header other directories include;
 * it is split by topic into the headers below, which are not included from outside lib/.
 */
#pragma once

#include "cleanup.h"
#include "log.h"
#include "net_addr.h"
#include "kube_model.h"
#include "kube_cache.h"
#include "kube_source.h"
#include "sync_phase.h"
