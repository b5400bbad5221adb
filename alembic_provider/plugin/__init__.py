"""Transport: go-plugin handshake, TLS, gRPC services and debug/reattach mode.

Servicers here decode requests, call :mod:`alembic_provider.provider` and encode the answers; they
hold no rules of their own.
"""
