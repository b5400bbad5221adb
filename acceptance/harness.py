"""Run acceptance test cases as lists of steps against the real ``terraform`` binary.

Follows terraform-plugin-testing's ``resource.Test``: every case gets its own working directory,
``HOME`` and CLI configuration; a config step runs init, plan, apply and the checks, then
requires an empty plan without and with refresh; plan checks see each plan a step makes before
it is applied; import steps import into a fresh working directory and compare states;
expected-error steps pass when the error matches (and may check the state the error left); the
case ends with a destroy and ``check_destroy``. Never reads the developer's Terraform
configuration or ``HOME``, and never leaves a working directory behind unless
``TF_ACC_PERSIST_WORKING_DIR`` is set.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path

from acceptance.providers import ProviderContext, ProviderSession, ProviderSetup
from acceptance.state import Plan, State, verify_import
from acceptance.terraform_bin import TerraformBinary
from tests.support import required_providers

__all__ = [
    "AcceptanceError",
    "CommandResult",
    "Harness",
    "PlanCheck",
    "Step",
    "StepError",
    "normalise_output",
]

_log = logging.getLogger(__name__)

COMMAND_TIMEOUT = 600.0
"""Seconds a single Terraform command may take before the step fails."""

CONFIG_FILE = "terraform_plugin_test.tf"
_TAIL_LINES = 60
_LOG_HINT = (
    "Set TF_ACC_LOG=DEBUG (and optionally TF_ACC_LOG_PATH) to quote Terraform's log, which "
    "includes the provider's output, in this message."
)
_TERRAFORM_BLOCK = re.compile(r"^\s*terraform\s*\{", re.MULTILINE)
_BOX_PREFIX = re.compile(r"^[ \t]*[╷│╵]", re.MULTILINE)

Check = Callable[[State], None]
PlanCheck = Callable[[Plan], None]


class AcceptanceError(AssertionError):
    """Raised when a case fails: a step, the final destroy, or ``check_destroy``."""


class StepError(Exception):
    """One step went wrong; ``output`` is the text an ``expect_error`` pattern is matched on."""

    def __init__(self, message: str, output: str | None = None) -> None:
        super().__init__(message)
        self.output = message if output is None else output


@dataclass(frozen=True)
class Step:
    """One step of a case, with terraform-plugin-testing's meaning for each field.

    :param config: HCL written to the working directory; a ``terraform`` block declaring the
        provider is prepended when the case has a provider and the config has none.
    :param check: called with the state after apply (before it, for a ``destroy`` step) or with
        the imported state for an import step; raise ``AssertionError`` to fail. With
        ``expect_error``, called with the state the failed step left (what a failed apply saved).
    :param plan_check: called with each plan the step makes before applying: the saved plan a
        config step applies, or both plans (without, then with refresh) of a ``plan_only`` step.
        It runs between plan and apply, so it may also change the world the apply meets.
    :param plan_only: skip apply and only require the two plans to be empty.
    :param refresh: refresh before the plan a config step applies; false plans and applies
        with ``-refresh=false``, as after a database moved while the state was not refreshed.
    :param expect_non_empty_plan: allow the plans to show changes, and require the refresh plan to.
    :param allow_non_empty_plan: allow the plans to show changes without requiring any; a
        ``plan_check`` then says what they must contain.
    :param expect_error: the step must fail with output matching this pattern (searched in
        whitespace-normalised output, and in the raw output).
    :param destroy: plan and apply with ``-destroy``.
    :param import_state: import ``resource_name`` into a fresh working directory.
    :param import_state_id: the ID to import; defaults to the ``id`` attribute in the state.
    :param import_state_verify: compare the imported attributes with the original ones.
    :param import_state_verify_ignore: attribute key prefixes left out of that comparison.
    :param import_state_persist: import into the case's own working directory and keep the
        result, so later steps plan against the imported state (as after a real import).
    :param pre_config: called before anything else in the step (add a migration file, …).
    :param prepare_workdir: called with the case's working directory after ``pre_config``, before
        any command (write a state file, …).
    :param env: extra environment for this step's Terraform commands (the final destroy gets
        only the case's environment).
    """

    config: str | None = None
    check: Check | None = None
    plan_check: PlanCheck | None = None
    plan_only: bool = False
    refresh: bool = True
    expect_non_empty_plan: bool = False
    allow_non_empty_plan: bool = False
    expect_error: str | re.Pattern[str] | None = None
    destroy: bool = False
    import_state: bool = False
    resource_name: str | None = None
    import_state_id: str | None = None
    import_state_verify: bool = False
    import_state_verify_ignore: tuple[str, ...] = ()
    import_state_persist: bool = False
    pre_config: Callable[[], object] | None = None
    prepare_workdir: Callable[[Path], object] | None = None
    env: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.import_state:
            if not self.resource_name:
                raise ValueError("An import step needs 'resource_name'.")
            if self.plan_only or self.destroy:
                raise ValueError("An import step cannot also be 'plan_only' or 'destroy'.")
        elif self.config is None:
            raise ValueError("A step needs 'config', or 'import_state' with 'resource_name'.")
        elif (
            self.import_state_verify
            or self.import_state_persist
            or self.import_state_id is not None
        ):
            raise ValueError(
                "'import_state_verify', 'import_state_persist' and 'import_state_id' need "
                "'import_state'."
            )
        if self.plan_only and self.destroy:
            raise ValueError("A step cannot be both 'plan_only' and 'destroy'.")
        if self.import_state and self.plan_check is not None:
            raise ValueError("An import step makes no plan for 'plan_check'.")
        if self.expect_non_empty_plan and self.allow_non_empty_plan:
            raise ValueError("Use one of 'expect_non_empty_plan' and 'allow_non_empty_plan'.")

    def matches_error(self, error: StepError) -> bool:
        """Return whether ``error`` is the one this step expects."""
        assert self.expect_error is not None
        pattern = re.compile(self.expect_error)
        return bool(pattern.search(normalise_output(error.output)) or pattern.search(error.output))


@dataclass(frozen=True)
class CommandResult:
    """What one Terraform command did."""

    argv: tuple[str, ...]
    cwd: Path
    returncode: int | None
    stdout: str
    stderr: str

    def describe(self, logs: Mapping[str, Path | None] | None = None) -> str:
        """Format the command and the tails of its output (and of ``logs``) for a failure."""
        lines = [
            f"command: {shlex.join(self.argv)}",
            f"working directory: {self.cwd}",
            "exit code: " + ("timed out" if self.returncode is None else str(self.returncode)),
            f"stdout (tail):\n{_tail(self.stdout)}",
            f"stderr (tail):\n{_tail(self.stderr)}",
        ]
        for name, path in (logs or {}).items():
            if path is not None and path.exists():
                lines.append(f"{name} (tail):\n{_tail(path.read_text(errors='replace'))}")
        return "\n".join(lines)


def _tail(text: str, lines: int = _TAIL_LINES) -> str:
    kept = text.rstrip().splitlines()
    prefix = [f"[... {len(kept) - lines} earlier lines]"] if len(kept) > lines else []
    return "\n".join(prefix + kept[-lines:])


def normalise_output(text: str) -> str:
    """Remove Terraform's diagnostic box drawing and collapse all whitespace to single spaces.

    Terraform wraps diagnostics at 78 columns when not on a terminal, so a message's words may
    be split across lines and prefixed with ``│``.
    """
    return " ".join(_BOX_PREFIX.sub(" ", text).split())


def base_environment(home: Path, cli_config: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """Build the minimal environment every Terraform command and provider in a case gets."""
    env = {
        "PATH": environ.get("PATH", os.defpath),
        "HOME": str(home),
        "TF_CLI_CONFIG_FILE": str(cli_config),
        "CHECKPOINT_DISABLE": "1",
        "TF_IN_AUTOMATION": "1",
    }
    if "TMPDIR" in environ:
        env["TMPDIR"] = environ["TMPDIR"]
    # Where the provider's warm server lives, and whether it is used, as the run chose.
    env.update(
        {k: v for k, v in environ.items() if k.startswith("TERRAFORM_PROVIDER_ALEMBIC_DAEMON")}
    )
    if environ.get("TF_ACC_LOG"):
        env["TF_LOG"] = environ["TF_ACC_LOG"]
        if environ.get("TF_ACC_LOG_PATH"):
            env["TF_LOG_PATH"] = environ["TF_ACC_LOG_PATH"]
    return env


@dataclass(frozen=True)
class Harness:
    """Runs cases for one test with one Terraform binary; ``base_dir`` is the test's tmp dir."""

    terraform: TerraformBinary
    base_dir: Path

    def test(
        self,
        steps: Sequence[Step],
        *,
        check_destroy: Check | None = None,
        provider: ProviderSetup | None = None,
        disable_plugin_tls: bool = False,
        env: Mapping[str, str] | None = None,
        on_command: Callable[[CommandResult], None] | None = None,
    ) -> None:
        """Run ``steps`` in order, then destroy what they created.

        :param check_destroy: called with the state from before the final destroy, after it.
        :param provider: how Terraform reaches the provider; ``None`` for configs without one.
        :param disable_plugin_tls: set ``TF_DISABLE_PLUGIN_TLS=1`` for every command.
        :param env: extra environment for every command of the case.
        :param on_command: called with every Terraform command's result, failed ones included.
        :raises AcceptanceError: when a step, the destroy or ``check_destroy`` fails.
        """
        if not steps:
            raise ValueError("A case needs at least one step.")
        _Case(
            self,
            steps=steps,
            check_destroy=check_destroy,
            provider=provider,
            disable_plugin_tls=disable_plugin_tls,
            env=env or {},
            on_command=on_command,
        ).run()


class _Case:
    """The mutable bookkeeping of one running case."""

    def __init__(
        self,
        harness: Harness,
        *,
        steps: Sequence[Step],
        check_destroy: Check | None,
        provider: ProviderSetup | None,
        disable_plugin_tls: bool,
        env: Mapping[str, str],
        on_command: Callable[[CommandResult], None] | None = None,
    ) -> None:
        self.terraform = harness.terraform
        self.on_command = on_command
        self.steps = steps
        self.check_destroy = check_destroy
        self.provider = provider
        self.persist = bool(os.environ.get("TF_ACC_PERSIST_WORKING_DIR"))
        self.root = Path(tempfile.mkdtemp(prefix="acc-", dir=harness.base_dir))
        self.workdir = self.root / "work"
        self.workdir.mkdir()
        home = self.root / "home"
        home.mkdir()
        cli_config = self.root / "terraformrc"
        cli_config.touch()
        self.env = base_environment(home, cli_config, os.environ)
        if "TF_LOG" in self.env and "TF_LOG_PATH" not in self.env:
            self.env["TF_LOG_PATH"] = str(self.root / "terraform.log")
        if disable_plugin_tls:
            self.env["TF_DISABLE_PLUGIN_TLS"] = "1"
        self.env.update(env)
        self.context = ProviderContext(env=dict(self.env), home=home, log_dir=self.root)
        self.session = ProviderSession()
        self.initialised: set[Path] = set()
        self.applied_config: str | None = None
        self.planned_config: str | None = None
        self.written_config: str | None = None

    def run(self) -> None:
        failures: list[str] = []
        try:
            with ExitStack() as stack:
                if self.provider is not None:
                    self.session = stack.enter_context(self.provider.start(self.context))
                    self.env.update(self.session.env)
                try:
                    failure = self._run_steps()
                except BaseException:
                    with suppress(StepError):
                        self._destroy(run_check=False)
                    raise
                if failure is not None:
                    failures.append(failure)
                try:
                    self._destroy(run_check=failure is None)
                except StepError as err:
                    failures.append(f"Final destroy failed: {err}")
        finally:
            if self.persist:
                _log.warning("Kept the acceptance working directories in %s", self.root)
            else:
                shutil.rmtree(self.root, ignore_errors=True)
        if failures:
            raise AcceptanceError("\n\n".join(failures))

    def _run_steps(self) -> str | None:
        """Run every step; return the failure message of the first step that fails."""
        total = len(self.steps)
        for number, step in enumerate(self.steps, start=1):
            label = f"Step {number}/{total}"
            try:
                if step.pre_config is not None:
                    step.pre_config()
                if step.prepare_workdir is not None:
                    step.prepare_workdir(self.workdir)
                if step.import_state:
                    self._import_step(step)
                else:
                    self._config_step(step)
            except StepError as err:
                if step.expect_error is None:
                    return f"{label} failed: {err}"
                if not step.matches_error(err):
                    return (
                        f"{label}: expected an error matching {_pattern_text(step)}, "
                        f"got a different one: {err}"
                    )
                if step.check is not None and not step.import_state:
                    try:
                        _run_check(step.check, self._show(self.workdir, step), "Check")
                    except StepError as check_err:
                        return f"{label} failed after the expected error: {check_err}"
            else:
                if step.expect_error is not None:
                    return f"{label}: expected an error matching {_pattern_text(step)} but got none"
            finally:
                if self.persist:
                    shutil.copytree(self.workdir, self.root / f"step_{number}", symlinks=True)
        return None

    def _config_step(self, step: Step) -> None:
        assert step.config is not None
        self._write_config(self.workdir, step.config)
        self._init(self.workdir, step)
        destroy = ("-destroy",) if step.destroy else ()
        if not step.plan_only:
            refresh = f"-refresh={'true' if step.refresh else 'false'}"
            planned = self._tf(self.workdir, step, "plan", refresh, "-out=tfplan", *destroy)
            self.planned_config = step.config
            self._check_plan(step, planned, "tfplan", refresh=step.refresh)
            before = self._show(self.workdir, step) if step.destroy else None
            self._tf(self.workdir, step, "apply", "-auto-approve", "-refresh=false", "tfplan")
            self.applied_config = step.config
            if step.check is not None:
                state = before if before is not None else self._show(self.workdir, step)
                _run_check(step.check, state, "Check")
        prefix = "The" if step.plan_only else "After applying this test step, the"
        allowed = step.expect_non_empty_plan or step.allow_non_empty_plan
        checked = step if step.plan_only else None
        changed = self._plan(self.workdir, step, "-refresh=false", *destroy, check=checked)
        if changed is not None and not allowed:
            raise StepError(f"{prefix} non-refresh plan was not empty.\nstdout:\n\n{changed}")
        changed = self._plan(self.workdir, step, "-refresh=true", *destroy, check=checked)
        if changed is not None and not allowed:
            raise StepError(f"{prefix} refresh plan was not empty.\nstdout:\n\n{changed}")
        if changed is None and step.expect_non_empty_plan:
            raise StepError("Expected a non-empty plan, but got an empty refresh plan")

    def _import_step(self, step: Step) -> None:
        assert step.resource_name is not None
        config = step.config if step.config is not None else self.applied_config
        if config is None:
            raise StepError("An import step needs its own config or an earlier applied config.")
        original = self._show(self.workdir, step) if self.applied_config is not None else None
        import_id = step.import_state_id
        if import_id is None:
            if original is None:
                raise StepError("An import step without 'import_state_id' needs an earlier apply.")
            values = original.resource(step.resource_name).values
            import_id = str(values.get("id") or "id-attribute-not-set")
        if step.import_state_persist:
            import_dir = self.workdir
            self.planned_config = config
        else:
            import_dir = Path(tempfile.mkdtemp(prefix="import-", dir=self.root))
        self._write_config(import_dir, config)
        self._init(import_dir, step)
        self._tf(import_dir, step, "import", step.resource_name, import_id)
        imported = self._show(import_dir, step)
        if step.check is not None:
            _run_check(step.check, imported, "ImportStateCheck")
        if step.import_state_verify:
            if original is None:
                raise StepError("'import_state_verify' needs an earlier applied config to compare.")
            _run_check(
                lambda state: verify_import(original, state, step.import_state_verify_ignore),
                imported,
                "ImportStateVerify",
            )

    def _destroy(self, *, run_check: bool) -> None:
        """Destroy whatever the steps left in the state, then run ``check_destroy``.

        Uses the last config that planned successfully: an apply may fail half-way and still
        leave resources behind, and a later expected-error step may have left an invalid config.
        """
        if self.planned_config is None:
            return
        final = Step(config=self.planned_config)
        if self.written_config != self.planned_config:
            self._write_config(self.workdir, self.planned_config)
        self._init(self.workdir, final)
        state = self._show(self.workdir, final)
        if not state.resources:
            return
        self._tf(self.workdir, final, "destroy", "-auto-approve", "-refresh=false")
        if run_check and self.check_destroy is not None:
            _run_check(self.check_destroy, state, "CheckDestroy")

    def _write_config(self, directory: Path, config: str) -> None:
        for old in (*directory.glob("*.tf"), *directory.glob("*.tf.json")):
            old.unlink()
        text = config
        if self.provider is not None and not _TERRAFORM_BLOCK.search(config):
            text = required_providers(self.provider.source) + config
        (directory / CONFIG_FILE).write_text(text)
        if directory == self.workdir:
            self.written_config = config

    def _init(self, directory: Path, step: Step) -> None:
        if directory not in self.initialised:
            self._tf(directory, step, "init")
            self.initialised.add(directory)

    def _show(self, directory: Path, step: Step) -> State:
        result = self._tf(directory, step, "show", "-json")
        try:
            return State.parse(result.stdout)
        except ValueError as err:
            raise StepError(
                f"Could not parse 'terraform show -json': {err}\n{result.stdout}"
            ) from err

    def _plan(
        self, directory: Path, step: Step, *args: str, check: Step | None = None
    ) -> str | None:
        """Run a plan with ``-detailed-exitcode``; return its text when it has changes.

        With ``check`` the plan is saved and handed to that step's ``plan_check``.
        """
        out = ("-out=tfplan-check",) if check is not None and check.plan_check else ()
        result = self._tf(directory, step, "plan", "-detailed-exitcode", *args, *out, ok=(0, 2))
        if check is not None:
            self._check_plan(check, result, "tfplan-check", refresh="-refresh=true" in args)
        return result.stdout if result.returncode == 2 else None

    def _check_plan(
        self, step: Step, planned: CommandResult, plan_file: str, *, refresh: bool
    ) -> None:
        """Hand the saved plan ``plan_file`` to the step's ``plan_check``, if it has one."""
        if step.plan_check is None:
            return
        shown = self._tf(self.workdir, step, "show", "-json", plan_file)
        try:
            plan = Plan.parse(
                shown.stdout, output=f"{planned.stdout}\n{planned.stderr}", refresh=refresh
            )
        except ValueError as err:
            raise StepError(f"Could not parse 'terraform show -json {plan_file}': {err}") from err
        try:
            step.plan_check(plan)
        except AssertionError as err:
            kind = "refresh" if refresh else "non-refresh"
            raise StepError(f"PlanCheck of the {kind} plan failed: {err}") from err

    def _logs(self) -> dict[str, Path | None]:
        """Return the logs worth quoting when a command fails."""
        terraform_log = self.env.get("TF_LOG_PATH")
        return {
            "provider stderr": self.session.log_path,
            "terraform log": Path(terraform_log) if terraform_log else None,
        }

    def _tf(
        self, directory: Path, step: Step, *args: str, ok: tuple[int, ...] = (0,)
    ) -> CommandResult:
        """Run one Terraform command; raise :class:`StepError` on an unexpected exit code."""
        command, *rest = args
        argv: tuple[str, ...] = (str(self.terraform.path), command, "-no-color")
        if command not in ("show",):
            argv += ("-input=false",)
        argv += tuple(rest)
        env = {**self.env, **step.env}
        try:
            completed = subprocess.run(
                argv,
                cwd=directory,
                env=env,
                capture_output=True,
                text=True,
                timeout=COMMAND_TIMEOUT,
                check=False,
            )
            result = CommandResult(
                argv, directory, completed.returncode, completed.stdout, completed.stderr
            )
        except subprocess.TimeoutExpired as err:
            result = CommandResult(argv, directory, None, _text(err.stdout), _text(err.stderr))
        if self.on_command is not None:
            self.on_command(result)
        if result.returncode not in ok:
            hint = "" if "TF_LOG" in self.env else f"\n{_LOG_HINT}"
            raise StepError(
                f"Error running terraform {command}:\n{result.describe(self._logs())}{hint}",
                output=f"{result.stdout}\n{result.stderr}",
            )
        return result


def _text(data: str | bytes | None) -> str:
    if isinstance(data, bytes):
        return data.decode(errors="replace")
    return data or ""


def _run_check(check: Check, state: State, what: str) -> None:
    try:
        check(state)
    except AssertionError as err:
        raise StepError(f"{what} failed: {err}") from err


def _pattern_text(step: Step) -> str:
    pattern = step.expect_error
    return repr(pattern.pattern if isinstance(pattern, re.Pattern) else pattern)
