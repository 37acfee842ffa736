"""Supervisors' pages: the risk rules with their history, the lanes and the random share, and a
what-if preview over recent declarations that changes nothing. Anyone else gets 404."""

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clearance.access import found_or_404, staff_required
from clearance.errors import ServiceError
from clearance.models import Role, User
from clearance.risk import history, rules, scoring, services
from clearance.risk.models import RiskRule, RiskSettings


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


class RuleForm(forms.ModelForm):  # type: ignore[type-arg]
    params = forms.JSONField(
        label=gettext_lazy("Parameters (JSON)"),
        help_text=gettext_lazy(
            'For example {"prefixes": ["8517"]} for an HS prefix rule; see the list of kinds.'
        ),
    )
    preview_days = forms.IntegerField(
        label=gettext_lazy("Preview over the last days"), min_value=1, max_value=90, initial=7
    )

    class Meta:
        model = RiskRule
        fields = [
            "name",
            "kind",
            "params",
            "points",
            "enabled",
            "effective_from",
            "effective_to",
            "reason_template",
        ]
        widgets = {
            "effective_from": forms.DateInput(attrs={"type": "date"}),
            "effective_to": forms.DateInput(attrs={"type": "date"}),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "kind" in data and "params" in data:
            params = data["params"]
            problems = (
                rules.validate_params(data["kind"], params)
                if isinstance(params, dict)
                else [_("Give the parameters as a JSON object.")]
            )
            for problem in problems:
                self.add_error("params", problem)
        return data


class SettingsForm(forms.ModelForm):  # type: ignore[type-arg]
    preview_days = forms.IntegerField(
        label=gettext_lazy("Preview over the last days"), min_value=1, max_value=90, initial=7
    )

    class Meta:
        model = RiskSettings
        fields = ["yellow_from", "red_from", "random_share", "review_hours"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        yellow, red = data.get("yellow_from"), data.get("red_from")
        if yellow is not None and red is not None and red <= yellow:
            self.add_error("red_from", _("Red must start above yellow."))
        return data

    def validate_constraints(self) -> None:
        # clean() has said the same in words; the model's constraint would repeat it by name.
        if "red_from" not in self.errors:
            super().validate_constraints()


@staff_required(Role.SUPERVISOR)
def rule_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "risk/rules.html",
        {"rules": RiskRule.objects.all(), "settings": RiskSettings.current()},
    )


def _preview(proposed: list[rules.Rule], limits: rules.Thresholds, days: int) -> history.WhatIf:
    return history.what_if(rules=proposed, limits=limits, days=days)


@staff_required(Role.SUPERVISOR)
def rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Edit or add a rule; "Preview" shows how the last days' declarations would move between
    lanes with the change, without saving anything."""
    rule = found_or_404(RiskRule.objects.all(), pk=pk) if pk is not None else None
    form = RuleForm(request.POST or None, instance=rule)
    preview = None
    if request.method == "POST" and form.is_valid():
        changed = form.save(commit=False)
        if "preview" in request.POST:
            preview = _preview(
                history.proposed_rules(changed, timezone.localdate()),
                scoring.thresholds(),
                form.cleaned_data["preview_days"],
            )
        else:
            try:
                services.rule_save(rule=changed, by=_user(request))
            except ServiceError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                messages.success(request, _("Rule saved."))
                return redirect("risk_rules")
    return render(
        request,
        "risk/rule_form.html",
        {
            "form": form,
            "rule": rule,
            "preview": preview,
            "history": rule.history.select_related("history_user")[:20] if rule else [],
        },
    )


@staff_required(Role.SUPERVISOR)
def risk_settings(request: HttpRequest) -> HttpResponse:
    current = RiskSettings.current()
    form = SettingsForm(request.POST or None, instance=current)
    preview = None
    if request.method == "POST" and form.is_valid():
        changed = form.save(commit=False)
        if "preview" in request.POST:
            preview = _preview(
                scoring.rules_in_force(timezone.localdate()),
                rules.Thresholds(
                    yellow_from=changed.yellow_from,
                    red_from=changed.red_from,
                    random_share=changed.random_share,
                ),
                form.cleaned_data["preview_days"],
            )
        else:
            try:
                services.risk_settings_save(settings=changed, by=_user(request))
            except ServiceError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                messages.success(request, _("Lanes saved."))
                return redirect("risk_rules")
    return render(
        request,
        "risk/settings.html",
        {
            "form": form,
            "preview": preview,
            "history": RiskSettings.history.select_related("history_user")[:20],
        },
    )
