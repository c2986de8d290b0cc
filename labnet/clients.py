"""boto3 clients beside one another: the same endpoint, Region, credentials and settings.

labnet builds one EC2 client per Region (the emulator's, or the caller's own chain on AWS); the few
things that are not EC2's (the flow-log bucket is S3's) use a client made beside it, so they go to
the same place with the same keys without looking anything up again.
"""

from __future__ import annotations

import threading
from typing import Any

_SIBLINGS: dict[tuple[int, str], Any] = {}
_LOCK = threading.Lock()


def sibling(client: Any, service: str) -> Any:
    """A ``service`` client with ``client``'s endpoint, Region, credentials and config (cached per
    client). botocore has no public accessor for a client's credentials, so they come from its
    ``_get_credentials()``: the keys the client was built with, never a new lookup."""
    key = (id(client), service)
    with _LOCK:
        found = _SIBLINGS.get(key)
        if found is not None and found[0] is client:
            return found[1]
    import boto3

    creds = client._get_credentials()  # noqa: SLF001 see above
    made = boto3.session.Session().client(
        service, region_name=client.meta.region_name, endpoint_url=client.meta.endpoint_url,
        aws_access_key_id=creds.access_key if creds else None,
        aws_secret_access_key=creds.secret_key if creds else None,
        aws_session_token=creds.token if creds else None, config=client.meta.config)
    with _LOCK:
        # The client is kept with its sibling so an id reused by a later client never hits.
        _SIBLINGS[key] = (client, made)
    return made
