# SPDX-License-Identifier: Apache-2.0
"""fakeapi: a small fake Kubernetes API server for kipvs tests.

Python 3 standard library only. Modules: resources (the served kinds and
their URLs), status (Status bodies), selector (label and field selectors),
store (objects, resourceVersions, history, watchers), faults (injected
failures), apihandler (the Kubernetes HTTP API), control (the test control
API), certs (openssl CA, certificates, kubeconfigs), server (assembly) and
cli (the fake-apiserver command).
"""
