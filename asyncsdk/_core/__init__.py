"""Service-agnostic machinery: the session pipeline, auth, retries, paging, conversion.

Nothing here knows MOI or MAXIR; the service packages plug in through ``Auth`` and ``Envelope``.
"""
