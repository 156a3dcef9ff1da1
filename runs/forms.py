"""Forms of the dashboard: a flow's Run form built from its parameters, and the limit form."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from django import forms

from runs_limits import selectors as limit_selectors
from runs_limits.services import LimitError, clean_limit, clean_tag

if TYPE_CHECKING:
    from runs_limits.models import ConcurrencyLimit

_HELP = {
    "integer": "A whole number.",
    "number": "A number, e.g. 0.5.",
    "string": "Text.",
    "boolean": "Ticked means true.",
    "array": "A JSON list, e.g. [1, 2, 3].",
    "object": 'A JSON object, e.g. {"key": "value"}.',
    "datetime": "Date and time, e.g. 2026-11-24T09:30.",
    "date": "A date, e.g. 2026-11-24.",
    "any": "A JSON value, or text.",
}


def _field_for(name: str, spec: dict[str, Any]) -> forms.Field:
    type_name = spec.get("type", "any")
    required = bool(spec.get("required"))
    default = spec.get("default")
    label = name.replace("_", " ")
    annotation = spec.get("annotation") or type_name
    detail = "; ".join(filter(None, [annotation, spec.get("bounds_text")]))
    help_text = f"{_HELP.get(type_name, '')} ({detail})".strip()
    common = {"label": label, "help_text": help_text, "required": required}
    if spec.get("choices"):  # a Literal: each choice sent as JSON, read back by raw_parameters
        choices = [(json.dumps(choice), str(choice)) for choice in spec["choices"]]
        if not required:
            choices.insert(0, ("", "(default)"))
        initial = json.dumps(default) if default is not None else None
        return forms.ChoiceField(**{**common, "help_text": ""}, choices=choices, initial=initial)
    if type_name == "boolean":
        return forms.BooleanField(**{**common, "required": False}, initial=bool(default))
    if type_name in ("integer", "number"):
        # Text, not <input type=number>: a browser sends "" for what it cannot read as a
        # number ("abc", "1e400"), and the run would start with the default. The server reads
        # the text as typed and says what is wrong with it.
        keyboard = "numeric" if type_name == "integer" else "decimal"
        return NumberTextField(
            **common,
            initial=default,
            widget=forms.TextInput(attrs={"inputmode": keyboard, "autocomplete": "off"}),
        )
    if type_name in ("array", "object"):
        initial = json.dumps(default) if default is not None else ""
        return forms.CharField(**common, initial=initial, widget=forms.Textarea(attrs={"rows": 2}))
    if type_name == "datetime":
        return forms.CharField(
            **common, initial=default, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
        )
    if type_name == "date":
        return forms.CharField(
            **common, initial=default, widget=forms.DateInput(attrs={"type": "date"})
        )
    return forms.CharField(**common, initial=default, strip=False)


class NumberTextField(forms.CharField):
    """A number typed as text; checked by the parameter rules, except that text naming a number
    too large for a float (``1e400``) is refused here, where the typed text is still known."""

    def clean(self, value: Any) -> Any:
        value = super().clean(value)
        if value not in (None, ""):
            try:
                number = float(value)
            except ValueError:
                return value  # the parameter rules say what is wrong with it
            if not math.isfinite(number) and value.strip().lower().lstrip("+-") not in (
                "inf",
                "infinity",
                "nan",
            ):
                raise forms.ValidationError(
                    f"{value.strip()[:40]} is too large to be a number here; type a smaller one."
                )
        return value


class FlowRunForm(forms.Form):
    """A field per parameter of a registered flow, typed from its annotation, defaults filled in.

    ``raw_parameters()`` gives what to pass to ``start_flow_run``; the service checks and
    coerces the values by the rules direct flow calls use (runs.parameters), and its
    ParameterError is shown on the fields with :meth:`add_parameter_errors`.
    """

    def __init__(
        self,
        *args: Any,
        schema: dict[str, dict[str, Any]],
        prefix: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, prefix=prefix, **kwargs)
        self.schema = schema
        for name, spec in schema.items():
            self.fields[name] = _field_for(name, spec)

    @staticmethod
    def initial_from(schema: dict[str, dict[str, Any]], parameters: dict[str, Any]) -> dict:
        """Field values showing a run's recorded ``parameters`` (to run it again)."""
        initial: dict[str, Any] = {}
        for name, spec in schema.items():
            if name not in parameters:
                continue
            value = parameters[name]
            if spec.get("choices") or spec.get("type") in ("array", "object", "any"):
                initial[name] = (
                    value
                    if isinstance(value, str) and spec.get("type") == "any"
                    else (json.dumps(value))
                )
            else:
                initial[name] = value
        return initial

    def raw_parameters(self) -> dict[str, Any]:
        """Submitted values by parameter; empty optional fields are left to their defaults."""
        values: dict[str, Any] = {}
        for name, spec in self.schema.items():
            value = self.cleaned_data.get(name)
            if spec.get("type") == "boolean":
                values[name] = bool(value)
                continue
            if value in (None, ""):
                if spec.get("required"):
                    values[name] = value
                continue
            if spec.get("type") == "any" or spec.get("choices"):
                try:
                    value = json.loads(value)
                except (TypeError, ValueError):
                    pass
            values[name] = value
        return values

    def add_parameter_errors(self, errors: dict[str, str]) -> None:
        """Show each of the service's errors on its field (others above the form)."""
        for name, message in errors.items():
            self.add_error(name if name in self.fields else None, message[:1].upper() + message[1:])


class LimitForm(forms.Form):
    """Create or edit a concurrency limit; errors come from runs_limits.services' own checks."""

    tag = forms.CharField(
        label="Tag",
        required=False,
        max_length=400,
        help_text="Task runs carrying this tag share the limit.",
    )
    concurrency_limit = forms.CharField(
        label="Limit",
        required=False,
        help_text="How many may run at once; 0 aborts every run with the tag.",
        widget=forms.NumberInput(attrs={"min": "0", "step": "1"}),
    )

    def __init__(self, *args: Any, instance: ConcurrencyLimit | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance = instance
        if instance is not None:
            self.fields["tag"].initial = instance.tag
            self.fields["concurrency_limit"].initial = instance.concurrency_limit

    def clean_tag(self) -> str:
        try:
            tag = clean_tag(self.cleaned_data.get("tag"))
        except LimitError as exc:
            raise forms.ValidationError(str(exc)) from None
        if limit_selectors.tag_has_limit(tag, other_than=self.instance):
            raise forms.ValidationError(f"Tag {tag!r} already has a limit; edit that one instead.")
        return tag

    def clean_concurrency_limit(self) -> int:
        raw = self.cleaned_data.get("concurrency_limit")
        if raw in (None, ""):
            raise forms.ValidationError("Give a limit: a whole number of 0 or more.")
        try:
            return clean_limit(raw)
        except LimitError as exc:
            raise forms.ValidationError(str(exc)) from None
