"""HTTP plumbing shared by the routes: reading parameters within limits, the owner token, and
the ONE place where errors become responses (VOTable documents with QUERY_STATUS=ERROR)."""

import functools
import logging
import re
import secrets
import urllib.parse

from starlette.datastructures import UploadFile
from starlette.responses import Response

from specir.errors import SpecIRError, SpecIRQueryError, SpecIRServiceError
from specir.tap.votable import error_votable

__all__ = ["OWNER_COOKIE", "Params", "RequestError", "handles_errors", "owner_token", "read_params"]

log = logging.getLogger(__name__)

VOTABLE = "application/x-votable+xml"
OWNER_COOKIE = "specir_owner"
"""Cookie naming the owner of async jobs (set when a client creates its first job)."""
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class RequestError(SpecIRQueryError):
    """A request the service refuses with a given HTTP status (404, 405, 413, ...)."""

    def __init__(self, status, field, problem, fix):
        super().__init__(field, problem, fix)
        self.status = status

    def __reduce__(self):
        return (type(self), (self.status, self.field, self.problem, self.fix))


def error_response(exc):
    """The HTTP response for an exception: a VOTable error, never an engine message."""
    headers = {}
    if isinstance(exc, RequestError):
        status = exc.status
    elif isinstance(exc, SpecIRServiceError):
        status, headers = 503, {"Retry-After": "10"}
    elif isinstance(exc, SpecIRError):
        status = 400
    else:
        log.exception("internal error", exc_info=exc)
        status = 500
        exc = "internal error (logged for the operator); please report it"
    return Response(error_votable(str(exc)), status, media_type=VOTABLE, headers=headers)


def handles_errors(endpoint):
    """Wrap a route so that every exception it raises becomes :func:`error_response`."""

    @functools.wraps(endpoint)
    async def wrapper(request):
        try:
            return await endpoint(request)
        except Exception as exc:  # the one mapping of errors to responses
            return error_response(exc)

    return wrapper


class Params(dict):
    """Request parameters by upper-case name (first value wins), with every pair kept."""

    def __init__(self, pairs, uploads=None):
        super().__init__()
        self.pairs = pairs
        self.uploads = uploads or {}
        for k, v in pairs:
            self.setdefault(k.upper(), v)

    def all(self, name):
        return [v for k, v in self.pairs if k.upper() == name]


async def _body(request, limit):
    length = request.headers.get("content-length")
    if length is not None and int(length) > limit:
        raise RequestError(413, "request", f"is {length} bytes", f"send at most {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, "request", f"is over {limit} bytes", "send a smaller body")
        chunks.append(chunk)
    request._body = b"".join(chunks)  # Starlette's form parser reads it from here
    return request._body


async def read_params(request, config):
    """:class:`Params` from the query string and a form or multipart body, within limits."""
    pairs = list(request.query_params.multi_items())
    uploads = {}
    if request.method != "POST":
        return Params(pairs)
    body = await _body(request, config.max_request_bytes)
    ctype = request.headers.get("content-type", "").lower()
    if ctype.startswith("multipart/form-data"):
        form = await request.form(
            max_files=20, max_fields=200, max_part_size=config.max_upload_bytes
        )
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                uploads[key] = await value.read()
            else:
                pairs.append((key, value))
                uploads.setdefault(key, value.encode())
        await form.close()
    elif body:
        pairs += urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    for name, data in uploads.items():
        if len(data) > config.max_upload_bytes:
            raise RequestError(
                413, f"UPLOAD {name}", "is too large", f"upload at most {config.max_upload_bytes} B"
            )
    return Params(pairs, uploads)


def owner_token(request):
    """The job-owner token the request carries (cookie), or None."""
    token = request.cookies.get(OWNER_COOKIE)
    return token if token and _TOKEN.match(token) else None


def new_owner_token():
    return secrets.token_urlsafe(24)
