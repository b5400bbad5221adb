"""How ``daemon status`` shows a server, including one of an older release that says less."""

from __future__ import annotations

from alembic_provider.entry.daemon import describe
from alembic_provider.rendezvous.control import Server


def test_a_worker_server_in_use_is_shown_in_use() -> None:
    status = {
        "pid": 7,
        "version": "0.1.0",
        "alembic": "1.13.1",
        "sqlalchemy": "2.0.30",
        "python": "3.12.3",
        "installation": "/opt/tpa/alembic_provider",
        "interpreter": "/srv/app/.venv/bin/python",
        "operations": 3,
        "providers": 2,
        "uptime_seconds": 12.5,
        "idle_seconds": 600.0,
        "idle_for_seconds": 0.0,
        "rss_kib": 41000,
    }
    text = describe(Server("/run/u/terraform-provider-alembic/worker-ab.sock", status))
    assert text == (
        "Worker server 7 for terraform-provider-alembic 0.1.0 (Alembic 1.13.1, SQLAlchemy "
        "2.0.30, Python 3.12.3)\n"
        "  installation: /opt/tpa/alembic_provider\n"
        "  interpreter: /srv/app/.venv/bin/python\n"
        "  sessions: 3 operations; 2 provider processes connected, up 12.5 s\n"
        "  idle: in use; exits after 600.0 s without use\n"
        "  memory: 41000 KiB resident\n"
        "  socket: /run/u/terraform-provider-alembic/worker-ab.sock\n"
    )


def test_what_an_older_server_does_not_say_is_unknown() -> None:
    text = describe(Server("/tmp/d/v0.0.9-abc.sock", {"pid": 5, "version": "0.0.9"}))
    assert text.startswith("Warm server 5 for terraform-provider-alembic 0.0.9\n")
    assert "  installation: unknown\n" in text
    assert "  idle: unknown s since the last session; exits after unknown s without use\n" in text


def test_a_socket_nobody_answers_on_is_named() -> None:
    text = describe(Server("/tmp/d/worker-x.sock", None))
    assert text.startswith("Nothing answers at /tmp/d/worker-x.sock: ")


def test_a_worker_server_shows_what_it_keeps_and_the_workers_staying() -> None:
    status = {
        "pid": 8,
        "kept_modules": 12,
        "kept_packages": ["decimal", "fractions"],
        "refused_modules": 3,
        "lingering_workers": 2,
    }
    text = describe(Server("/run/u/terraform-provider-alembic/worker-cd.sock", status))
    assert "\n  kept imports: 12 modules (decimal, fractions); 3 refused\n" in text
    assert "\n  workers staying for their command: 2" in text
