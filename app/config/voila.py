"""Voilà's configuration for labnet's app: `make app` and tests/test_browser.py pass
``--Voila.config_file_paths=app/config``, so this file is read and no user config is needed.

A closed page must not leave its kernel running. Voilà's page, on ``beforeunload``, posts
``/voila/api/shutdown/<kernel id>`` with the value of the ``_xsrf`` cookie as its XSRF token
(``navigator.sendBeacon``). But Voilà renders the notebook page through nbconvert without ever reading
the handler's XSRF token, and tornado sets the ``_xsrf`` cookie only when the token is read: the
cookie is never set, the POST carries an empty token, jupyter_server refuses it (403 "'_xsrf'
argument missing from POST"), and every closed page left a kernel behind.

Voilà's documented ``prelaunch_hook`` runs with the page's request handler before the kernel starts
and before the page's first byte is sent; reading ``xsrf_token`` there sets the cookie on the page's
response, and the shutdown POST then carries the matching token. XSRF protection stays on.
"""


def set_xsrf_cookie(req, notebook, cwd):
    """Voilà's prelaunch hook: make tornado set the page's ``_xsrf`` cookie (see the module docstring)."""
    req.xsrf_token  # noqa: B018 reading the token is what sets the cookie
    return notebook


c.VoilaConfiguration.prelaunch_hook = set_xsrf_cookie  # noqa: F821 ``c`` is the config Voilà loads this with
