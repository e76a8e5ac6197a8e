"""Connecting to a Kubernetes cluster: which kubeconfig, an authenticated check, and clear errors.

The ``kubernetes`` package is imported only here and only when a Kubernetes stack is used.
"""

from __future__ import annotations

import glob
import ipaddress
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pytest_blissful.stack.errors import StackError

SETUP_HINT = "the local cluster is started by ./scripts/setup.sh kubernetes (docs/kubernetes.md)"


def local_run_dir() -> Path:
    return Path(os.environ.get("BLISSFUL_K8S_RUN", "/var/tmp/blissful-k8s"))


def local_kubeconfig() -> Path:
    """The admin kubeconfig of the cluster that ``scripts/setup.sh kubernetes`` starts."""
    return local_run_dir() / "kc" / "admin.kubeconfig"


def resolve_kubeconfig(configured: Path | None) -> Path:
    """``configured``, else the first file of $KUBECONFIG, else the local cluster's, else ~/.kube/config."""
    if configured is not None:
        return configured
    env = os.environ.get("KUBECONFIG", "")
    first = next((part for part in env.split(os.pathsep) if part), None)
    if first:
        return Path(first)
    if local_kubeconfig().is_file():
        return local_kubeconfig()
    return Path.home() / ".kube" / "config"


def kubectl() -> str:
    """kubectl: $BLISSFUL_KUBECTL, else the one the setup step built (matches the local cluster), else PATH."""
    explicit = os.environ.get("BLISSFUL_KUBECTL")
    if explicit:
        return explicit
    cache = os.environ.get("BLISSFUL_K8S_CACHE", "/var/cache/blissful/kubernetes")
    built = sorted(glob.glob(f"{cache}/k8s-*/bin/kubectl"), key=os.path.getmtime)
    if built:
        return built[-1]
    found = shutil.which("kubectl")
    if found:
        return found
    raise StackError(f"kubectl not found (needed for Kustomize and port-forwards): install it, set "
                     f"BLISSFUL_KUBECTL, or {SETUP_HINT}")


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Cluster:
    """A connected cluster: the kubeconfig and context used, the API server URL and the authenticated user."""

    kubeconfig: str
    context: str | None
    server: str
    user: str
    api: Any  # kubernetes.client.ApiClient

    @property
    def local(self) -> bool:
        return is_loopback_url(self.server)

    def describe(self) -> str:
        return f"{self.server} (kubeconfig {self.kubeconfig}, context {self.context or 'current'})"


def connect(kubeconfig: Path, context: str | None, timeout_s: float = 10.0) -> Cluster:
    """An API client for ``kubeconfig``/``context``, checked with an authenticated request (SelfSubjectReview).

    Raises :class:`StackError` naming the kubeconfig, context and server when the file or context is missing,
    the server does not answer, or it does not accept the credentials."""
    from kubernetes import client, config
    from kubernetes.client.rest import ApiException
    from kubernetes.config.config_exception import ConfigException

    where = f"kubeconfig {kubeconfig}, context {context or 'current'}"
    if not kubeconfig.is_file():
        raise StackError(f"kubeconfig not found: {kubeconfig} (set stack.kubernetes.kubeconfig or $KUBECONFIG; "
                         f"{SETUP_HINT})")
    try:
        api = config.new_client_from_config(config_file=str(kubeconfig), context=context, persist_config=False)
    except ConfigException as exc:
        raise StackError(f"{where}: {exc}") from None
    server = str(api.configuration.host)
    try:
        review = client.AuthenticationV1Api(api).create_self_subject_review(
            client.V1SelfSubjectReview(), _request_timeout=timeout_s)
    except ApiException as exc:
        if exc.status in (401, 403):
            raise StackError(f"Kubernetes cluster at {server} refused the credentials of {where}: HTTP {exc.status} "
                             f"{exc.reason} (unauthorised)") from None
        raise StackError(f"Kubernetes cluster at {server} ({where}) answered HTTP {exc.status} {exc.reason} to an "
                         "authentication check") from None
    except Exception as exc:  # urllib3 connection / TLS errors: the cluster is not there
        reason = _root_cause(exc)
        hint = f"; {SETUP_HINT}" if is_loopback_url(server) else ""
        raise StackError(f"Kubernetes cluster unreachable at {server} ({where}): {reason}{hint}") from None
    user = str(getattr(getattr(review.status, "user_info", None), "username", "") or "")
    if user in ("", "system:anonymous"):
        raise StackError(f"Kubernetes cluster at {server} does not know the credentials of {where} "
                         f"(authenticated as {user or 'nobody'}): unauthorised")
    return Cluster(kubeconfig=str(kubeconfig), context=context, server=server, user=user, api=api)


def cluster_of(details: dict[str, Any]) -> Cluster:
    """Connect to the cluster of a Kubernetes stack (``Stack.kubernetes`` or its ledger entry)."""
    return connect(Path(details["kubeconfig"]), details.get("context"))


def dynamic_client(cluster: Cluster) -> Any:
    """The kubernetes package's ``DynamicClient``: objects of any kind by apiVersion and kind."""
    from kubernetes.dynamic import DynamicClient

    return DynamicClient(cluster.api)


def _root_cause(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    text = str(reason or exc)
    for marker in ("Connection refused", "timed out", "Name or service not known", "CERTIFICATE_VERIFY_FAILED",
                   "No route to host"):
        if marker in text:
            return marker.lower() if marker != "CERTIFICATE_VERIFY_FAILED" else "TLS certificate not trusted"
    return f"{type(exc).__name__}: {text[:300]}"


def api_message(exc: Any) -> str:
    """The ``message`` of an ApiException's Status body, else its reason."""
    import json

    try:
        body = json.loads(exc.body)
        return str(body.get("message") or exc.reason)
    except (TypeError, ValueError, AttributeError):
        return str(getattr(exc, "reason", exc))
