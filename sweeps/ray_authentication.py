"""Ray's token authentication, for Sweep.py --executor ray.

The sweep's own local instance takes a token of its own in its environment (RAY_AUTH_TOKEN), never in
~/.ray/auth_token, where Ray would write one: from that file a later plain `ray start --head` would require a token,
which --address joins do not send. Joining a cluster that refuses the sweep's token (or its absence) ends in one
sentence that says where Ray looks for the token, at once: ray.init retries for half a minute, prints Ray's warnings
and ends in 'Failed to connect'."""

import logging
import os
import secrets

from sweeps.execution import ExecutorError

DEFAULT_TOKEN_FILE = os.path.join("~", ".ray", "auth_token")
TOKEN_SOURCES = ("Ray sends a token only with RAY_AUTH_MODE=token, and reads it from the variable RAY_AUTH_TOKEN, else "
                 f"from the file that RAY_AUTH_TOKEN_PATH names, else from {DEFAULT_TOKEN_FILE}")


def local_instance_token():
    """Gives the sweep's local Ray instance a token in this process's environment, unless the user set one."""
    if not (os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH")):
        os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
    # Ray then warns, on every sweep, that token authentication is on and how to opt out: the sweep turned it on.
    logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)


def authentication_problem(address, source, sent_token):
    """Why the cluster at `address` refused this process, in one sentence: no token sent, or the wrong one."""
    read_from = ("RAY_AUTH_TOKEN" if os.environ.get("RAY_AUTH_TOKEN") else os.environ.get("RAY_AUTH_TOKEN_PATH")
                 or DEFAULT_TOKEN_FILE)
    refused = (f"refused the token read from {read_from}" if sent_token
               else "requires an authentication token, which the sweep did not send")
    return (f"The Ray cluster at {address} ({source}) {refused}; {TOKEN_SOURCES}: export RAY_AUTH_MODE=token and the "
            "cluster's token in one of these (on the head, `ray get-auth-token` prints it), then run the same command "
            "again.")


def check_authentication(address, source, timeout_s):
    """Fails at once when the head refuses the token Ray would send (or its absence), asking its GCS for the cluster's
    id: ray.init retries for half a minute, prints Ray's warnings and ends in 'Failed to connect'."""
    try:  # Ray 2.60's internal names (requirements-dev.txt pins it); on another Ray, ray.init's own error applies
        import grpc
        from ray._raylet import AuthenticationMode, AuthenticationTokenLoader, get_authentication_mode
        from ray.core.generated import gcs_service_pb2, gcs_service_pb2_grpc
        from ray.exceptions import AuthenticationError
        loader = AuthenticationTokenLoader.instance()
    except (ImportError, AttributeError):
        return
    try:
        # Ray's header reads the token whatever the mode; the driver sends it only in token mode.
        sending = get_authentication_mode() == AuthenticationMode.TOKEN and loader.has_token()
        metadata = tuple(loader.get_token_for_http_header().items()) if sending else ()
    except AuthenticationError as error:  # e.g. RAY_AUTH_TOKEN_PATH names no file
        raise ExecutorError(f"Ray could not read the token to join the cluster at {address} ({source}): "
                           f"{error.message}; {TOKEN_SOURCES}.") from None
    with grpc.insecure_channel(address) as channel:
        try:
            gcs_service_pb2_grpc.NodeInfoGcsServiceStub(channel).GetClusterId(
                gcs_service_pb2.GetClusterIdRequest(), timeout=timeout_s, metadata=metadata)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.UNAUTHENTICATED:
                raise ExecutorError(authentication_problem(address, source, sending)) from None
