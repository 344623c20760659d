/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Whole-file reading for the readers of small and large inputs in lib/ (kubeconfig, token
 * files, KubeProxyConfiguration, --from manifests). Internal to lib/.
 */
#pragma once

#include <stddef.h>

/*
 * Reads the file at path into a NUL-terminated buffer (an empty file gives ""). max bounds its
 * size (0: no bound). Returns 0 with *ret_buf (the caller frees it) and, when ret_len is not
 * NULL, the length; -EFBIG when the file is longer than max; -ENOMEM; or the -errno of
 * open/read.
 */
int kube_file_read(const char *path, size_t max, char **ret_buf, size_t *ret_len)
    __attribute__((warn_unused_result));
