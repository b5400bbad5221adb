"""What both lifecycle machines share: strict events, checked facts and cheap model binding.

``transitions`` is lenient in two places that would hide provider bugs: an event whose guards
all refuse quietly returns False, and unexpected keyword facts are passed along unread. Here
both raise. Models are bound to one machine definition built at import and then released, so
creating a model per request costs a few attribute assignments and nothing is retained.

Never does I/O and never reads a clock; imports only the standard library and ``transitions``.
"""

from __future__ import annotations

import inspect
import threading
from typing import TYPE_CHECKING, Any

from transitions import Machine
from transitions.core import Event, MachineError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from enum import Enum

    from transitions.core import CallbacksArg, EventData, TransitionConfigDict

__all__ = ["StrictEvent", "StrictMachine", "check_facts", "edge", "unbound"]

_BINDING = threading.Lock()


def unbound(*args: object, **kwargs: object) -> bool:
    """Stand in for a method that the machine binds onto every model when it is created.

    With ``model_override=True`` a machine only binds the names a model declares, so each model
    class declares every trigger, ``may_<trigger>``, ``is_<STATE>``, ``trigger`` and
    ``may_trigger``; this body runs only if a model was built without its machine.
    """
    raise RuntimeError(
        "This lifecycle method is bound by the machine when the model is created; "
        "create the model through its class instead of copying it."
    )


def edge(
    trigger: str,
    source: Enum | Sequence[Enum],
    dest: Enum | str,
    *,
    when: str | tuple[str, ...] = (),
    unless: str | tuple[str, ...] = (),
    do: str | tuple[str, ...] = (),
) -> TransitionConfigDict:
    """Return one row of a transition table in the dict form ``transitions`` reads.

    :param dest: a state, or ``"="`` for "stay in the source state" (callbacks still run).
    :param when: guards that must all hold; ``unless``: guards that must all fail.
    :param do: callbacks that record the decision on the model before the state changes.
    """
    row: TransitionConfigDict = {"trigger": trigger, "source": source, "dest": dest}
    if when:
        row["conditions"] = list(_names(when))
    if unless:
        row["unless"] = list(_names(unless))
    if do:
        row["before"] = list(_names(do))
    return row


def _names(value: str | tuple[str, ...]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else value


#: The signature each model class declares for each trigger: reading one costs more than the
#: rest of a transition, and the declarations never change.
_SIGNATURES: dict[tuple[type, str], inspect.Signature] = {}


def _declared(model: type, name: str) -> inspect.Signature:
    """The signature a model class declares for a trigger, read once per class and trigger."""
    key = (model, name)
    signature = _SIGNATURES.get(key)
    if signature is None:
        declared = getattr(model, name, None)
        if declared is None:
            raise TypeError(f"The model '{model.__name__}' does not declare '{name}'.")
        signature = _SIGNATURES[key] = inspect.signature(declared)
    return signature


def check_facts(event: EventData) -> None:
    """Reject facts that the model's trigger declaration does not accept.

    Runs as the machine's ``prepare_event`` (also for ``may_<trigger>``), before any guard, so a
    missing or misspelt fact raises TypeError instead of being read as its default.

    :raises TypeError: when the keyword facts do not match the trigger's declared signature.
    """
    name = event.event.name
    signature = _declared(type(event.model), name)
    try:
        signature.bind(event.model, *event.args, **event.kwargs)
    except TypeError as err:
        raise TypeError(f"Facts for '{name}' do not match its declaration: {err}.") from err


class StrictEvent(Event):
    """An event that raises when every guarded edge from the current state refuses.

    ``transitions`` raises MachineError for an event with no edge from the current state and
    returns False when edges exist but no guard holds. Both are provider bugs here, so both raise;
    callers that want to ask first use ``may_<trigger>()``.
    """

    def trigger(self, model: object, *args: Any, **kwargs: Any) -> bool:
        if super().trigger(model, *args, **kwargs):
            return True
        state = self.machine.get_model_state(model)
        raise MachineError(
            f"Can't trigger event {self.name} from state {state.name} with these facts: "
            "no guard allows it!"
        )


class StrictMachine(Machine):
    """One shared, strict machine definition that models are bound to and released from.

    Fixed settings: facts arrive as ``EventData`` (``send_event``), no ``to_<state>()`` back
    doors, invalid triggers raise, and only methods the model declares are bound
    (``model_override``), which keeps every trigger visible to mypy.
    """

    event_cls = StrictEvent

    def __init__(
        self,
        *,
        name: str,
        states: type[Enum],
        initial: Enum,
        transitions: Sequence[TransitionConfigDict],
        before_state_change: CallbacksArg = None,
    ) -> None:
        super().__init__(
            model=None,
            states=states,
            initial=initial,
            transitions=transitions,
            send_event=True,
            auto_transitions=False,
            ignore_invalid_triggers=False,
            model_override=True,
            prepare_event=check_facts,
            before_state_change=before_state_change,
            name=name,
        )

    def bind(self, model: object, state: Enum) -> None:
        """Put model in state and give it this machine's triggers, keeping no reference to it.

        ``remove_model`` leaves the bound triggers on the model (they refer to the shared events,
        not to the model list), so the machine's model list stays empty and a model lives exactly
        as long as the request that created it.
        """
        with _BINDING:
            self.add_model(model, initial=state)
            self.remove_model(model)
