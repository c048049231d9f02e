"""How a request goes out: straight to the session's adapter, prepared once per route.

``requests.Session.request`` merges the session's settings into every request
(headers, cookies, hooks, proxies, authentication, the environment), making a
cookie jar and several dicts each time, and afterwards looks for a redirect to
offer as ``response.next``: about a third of the sender's CPU per batch, more
than joining and settling the batch. A transport's session has no hooks and no
``auth``, never follows a redirect, and had its environment settings resolved
when it was made, so :class:`Requester` does only the part of that work left:

- a route's request (method, URL, the session's headers, credentials in the
  URL) is prepared once with :meth:`requests.PreparedRequest.prepare`, and
  copied for each body;
- cookies a server sets are kept in the session's jar and sent back, as the
  session would;
- the request goes to the session's adapter (:meth:`requests.Session.get_adapter`)
  with the session's proxies and TLS settings, and the body of the answer is
  read before :meth:`Requester.request` returns, as ``Session.send`` reads it.
"""

from __future__ import annotations

from collections import OrderedDict

import requests
from requests.cookies import extract_cookies_to_jar

__all__ = ["Requester"]

#: Routes whose prepared request is kept: the batch and single routes in use,
#: with room to spare for paths that name an item (``PUT /v1/events/{id}``).
TEMPLATES_KEPT = 16


class Requester:
    """Sends requests through one ``requests.Session`` with the session's settings."""

    def __init__(self, session: requests.Session) -> None:
        self._session = session
        self._templates: OrderedDict[
            tuple[str, str], tuple[requests.PreparedRequest, requests.adapters.BaseAdapter]
        ] = OrderedDict()

    def request(
        self, method: str, url: str, data: bytes, timeout: tuple[float, float]
    ) -> requests.Response:
        """Send *data* to *url*; never follow a redirect. Raises what ``requests`` raises."""
        session = self._session
        key = (method, url)
        known = self._templates.get(key)
        if known is None:
            template = requests.PreparedRequest()
            template.prepare(method=method, url=url, headers=session.headers)
            known = self._templates[key] = (template, session.get_adapter(url))
            if len(self._templates) > TEMPLATES_KEPT:
                self._templates.popitem(last=False)
        else:
            self._templates.move_to_end(key)
        template, adapter = known
        prepared = template.copy()
        prepared.prepare_body(data, None)
        jar = session.cookies
        verify = session.verify
        if jar:  # a server set cookies: they go back with every request
            prepared.prepare_cookies(jar)
        response = adapter.send(
            prepared,
            stream=False,
            timeout=timeout,
            verify=True if verify is None else verify,
            cert=session.cert,
            proxies=session.proxies,
        )
        if "Set-Cookie" in response.headers:
            extract_cookies_to_jar(jar, prepared, response.raw)  # type: ignore[no-untyped-call]
        response.content  # noqa: B018 (read now, within the request's deadline)
        return response
